"""What can be imported: each entity's target fields, header synonyms and matching rules.

An entity is registered once under its key ("contact", "company"); the
engine, the wizard, the API and the command only go through the registry, so
a new kind of record (deals, products) plugs in by registering one more.
"""

import hashlib
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz

from accord.activities.models import USER_KINDS, Activity, CallOutcome, Direction
from accord.commerce.models import Channel, Order, OrderStatus, Product
from accord.customers import custom_fields
from accord.customers.models import (
    Company,
    CompanySize,
    Contact,
    CustomField,
    FieldType,
    LifecycleStage,
)
from accord.customers.models import Entity as FieldOwner
from accord.identity.context import acting_member
from accord.records import services as records
from accord.records.models import Record, RecordType
from accord.sales.models import Deal, Lead
from accord.search import fold

FUZZY_THRESHOLD = 90  # "E-mail adress" still maps; "Name" never becomes "Last name"
# Short words one letter apart are often different words ("Contract" and
# "Contact"), so only headers at least this long are matched loosely.
FUZZY_MIN_LENGTH = 9


@dataclass(frozen=True)
class Target:
    """A field a column can fill. `kind` decides how a cell is read."""

    key: str
    label: str
    kind: str = "text"
    synonyms: tuple[str, ...] = ()
    custom: CustomField | None = None
    choices: tuple = ()
    # Headers taken only when no other target claimed them by key, label or
    # synonym: Accord's own export has both "ID" and "Id in another system".
    fallback: tuple[str, ...] = ()
    # The money custom field whose currency this column gives, beside the
    # column of its amount, as Accord's own export writes them.
    currency_of: CustomField | None = None


@dataclass
class Entity:
    key: str
    label: str
    plural: str
    model: type
    permission: str  # the area of the entity's permissions: "contacts", "companies"
    built_in: list[Target]
    required_hint: str
    match_hint: str
    custom_entity: str = ""
    extra: dict = field(default_factory=dict)
    # The permission importing new records needs, when it is not "<area>.add".
    add_permission: str = ""
    # The targets through which a row can match a record already here, for an
    # entity whose rows match through some columns only; the duplicate policy
    # decides something only when the file fills one of them. None: every
    # row can match (a company by its name).
    matched_by: tuple[str, ...] | None = None

    def permission_to_add(self) -> str:
        return self.add_permission or f"{self.permission}.add"

    def permissions_to_import(self) -> list[str]:
        """Every permission, besides `imports.run`, a member needs to import this entity."""
        return [self.permission_to_add()]

    def offers_duplicate_policy(self, mapping: dict | None) -> bool:
        """Whether rows read with this column mapping can match a record already here,
        so that the duplicate policy (skip, fill, overwrite, create) changes anything."""
        if self.matched_by is None:
            return True
        return bool(set(self.matched_by) & set((mapping or {}).values()))

    def targets(self) -> list[Target]:
        """Built-in targets and every active custom field as `cf.<key>`; inside a scope.

        Fields hidden from the acting member's role are not targets: an import
        cannot write what its member may not see.
        """
        found = list(self.built_in)
        for custom in custom_fields.active_fields(self.custom_entity or self.key,
                                                  acting_member()):
            found.append(Target(f"cf.{custom.key}", custom.label, f"cf.{custom.field_type}",
                                (custom.key,), custom=custom))
            if custom.field_type == FieldType.MONEY:
                label = _("%(label)s currency") % {"label": custom.label}
                found.append(Target(f"cf.{custom.key}.currency", label,
                                    synonyms=(f"{custom.key} currency",), currency_of=custom))
        return found

    def target_map(self) -> dict[str, Target]:
        return {target.key: target for target in self.targets()}

    def suggest(self, headers: list[str]) -> dict[str, str]:
        """{header: target key} for every header that names a target; each target once."""
        return suggest(headers, self.targets())


REGISTRY: dict[str, Entity] = {}


def register(entity: Entity) -> None:
    REGISTRY[entity.key] = entity


def get(key: str) -> Entity | None:
    return REGISTRY.get(key)


def choices() -> list[tuple[str, str]]:
    return [(entity.key, entity.plural) for entity in REGISTRY.values()]


_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def fold_header(header: str) -> str:
    """A header without case, accents, spaces or punctuation: "E-Mail Adresse" → "emailadresse"."""
    return _NON_WORD.sub("", fold(header or ""))


def header_key(headers: list[str]) -> str:
    """One short key for a set of headers, the same whatever their order, case or BOM."""
    folded = sorted({fold_header(header.lstrip("\ufeff")) for header in headers} - {""})
    return hashlib.sha256("\x1f".join(folded).encode()).hexdigest()[:64]


def suggest(headers: list[str], targets: list[Target]) -> dict[str, str]:
    own: dict[str, str] = {}
    names: dict[str, str] = {}
    fallback: dict[str, str] = {}
    for target in targets:
        for name in (target.key, str(target.label)):
            own.setdefault(fold_header(name), target.key)
        for name in (target.key, str(target.label), *target.synonyms):
            names.setdefault(fold_header(name), target.key)
        for name in target.fallback:
            fallback.setdefault(fold_header(name), target.key)
    result: dict[str, str] = {}
    taken: set[str] = set()
    # A field's own key or label wins over another column's synonym: in
    # Accord's export, "Id in another system" fills that field, not "ID".
    for lookup in (own, names, fallback):
        for header in headers:
            key = lookup.get(fold_header(header))
            if header not in result and key and key not in taken:
                result[header] = key
                taken.add(key)
    for header in headers:
        folded = fold_header(header)
        if header in result or len(folded) < FUZZY_MIN_LENGTH:
            continue
        best, score = None, 0.0
        for name, key in names.items():
            if key in taken or len(name) < FUZZY_MIN_LENGTH:
                continue
            ratio = fuzz.ratio(folded, name)
            if ratio > score:
                best, score = key, ratio
        if best and score >= FUZZY_THRESHOLD:
            result[header] = best
            taken.add(best)
    return result


ADDRESS = [
    Target("street", _("Street"), synonyms=(
        "Address", "Street Address", "Business Street", "Home Street", "Address 1 - Street",
        "Straße", "Strasse", "Adresse", "Rue", "Straat", "Adres")),
    Target("city", _("City"), synonyms=(
        "Town", "Business City", "Home City", "Address 1 - City", "Ort", "Stadt", "Ville",
        "Plaats", "Woonplaats")),
    Target("region", _("Region"), synonyms=(
        "State", "Province", "County", "Business State", "Home State", "Address 1 - Region",
        "Bundesland", "Région", "Provincie")),
    Target("postal_code", _("Postal code"), synonyms=(
        "Postcode", "Post Code", "ZIP", "ZIP Code", "Business Postal Code", "Home Postal Code",
        "Address 1 - Postal Code", "PLZ", "Postleitzahl", "Code postal", "CP")),
    Target("country", _("Country"), "country", synonyms=(
        "Country/Region", "Business Country/Region", "Home Country/Region",
        "Address 1 - Country", "Land", "Pays")),
]
# The "ID" column of Accord's own contacts and companies export: kept so that
# the export's activities file, which names records by these ids, finds them.
EXPORT_ID = Target("export_id", _("ID in the exported Accord organisation"), "identifier",
                   fallback=("ID",))
COMMON = [
    Target("owner", _("Owner"), "member", synonyms=("Owner e-mail", "Account Owner",
                                                    "Contact Owner", "Besitzer")),
    Target("source", _("Source"), synonyms=("Lead Source", "Quelle", "Origine", "Bron")),
    Target("tags", _("Tags"), "tags", synonyms=("Tag", "Labels", "Categories", "Group Membership",
                                        "Kategorien", "Étiquettes")),
    Target("external_id", _("Id in another system"), "identifier", synonyms=(
        "External ID", "ID", "Record ID", "Customer ID", "CustomerID", "Kundennummer",
        "Numéro client", "Klantnummer")),
]

CONTACT_TARGETS = [
    Target("first_name", _("First name"), synonyms=(
        "First", "Given Name", "Firstname", "Forename", "Vorname", "Prénom", "Prenom",
        "Voornaam")),
    Target("last_name", _("Last name"), synonyms=(
        "Last", "Family Name", "Surname", "Lastname", "Nachname", "Familienname", "Nom",
        "Nom de famille", "Achternaam")),
    Target("name", _("Full name (split into first and last)"), "full_name", synonyms=(
        "Name", "Full Name", "Display Name", "Contact", "Contact Name", "Kontakt",
        "Nom complet", "Naam", "Volledige naam")),
    Target("email", _("E-mail"), "email", synonyms=(
        "Email", "E-mail Address", "Email Address", "E-mail 1 - Value", "Primary Email",
        "Work Email", "E-Mail-Adresse", "E-Mail Adresse", "Courriel", "Adresse e-mail",
        "E-mailadres", "Mail")),
    Target("email_home", _("E-mail (personal)"), "email", synonyms=(
        "E-mail 2 Address", "E-mail 2 - Value", "Home Email", "Personal Email",
        "E-Mail privat", "Courriel personnel")),
    Target("email_other", _("E-mail (other)"), "email", synonyms=(
        "E-mail 3 Address", "E-mail 3 - Value", "Other Email", "Weitere E-Mail")),
    Target("phone", _("Phone"), "phone", synonyms=(
        "Phone Number", "Telephone", "Primary Phone", "Phone 1 - Value", "Telefon",
        "Telefonnummer", "Téléphone", "Telefoon", "Telefoonnummer")),
    Target("phone_mobile", _("Phone (mobile)"), "phone", synonyms=(
        "Mobile Phone", "Mobile", "Cell", "Cell Phone", "Handy", "Mobiltelefon", "Mobilnummer",
        "Portable", "Téléphone portable", "Mobiel", "Mobiele telefoon")),
    Target("phone_work", _("Phone (work)"), "phone", synonyms=(
        "Business Phone", "Work Phone", "Phone 2 - Value", "Telefon geschäftlich",
        "Téléphone professionnel", "Telefoon werk")),
    Target("phone_home", _("Phone (home)"), "phone", synonyms=(
        "Home Phone", "Telefon privat", "Téléphone domicile", "Telefoon thuis")),
    Target("phone_fax", _("Fax"), "phone", synonyms=("Business Fax", "Fax Number", "Telefax")),
    # Accord's own spreadsheet exports list every address and number in one
    # cell each, separated by "; ".
    Target("emails_all", _("All e-mails (separated by ;)"), "list", synonyms=(
        "All e-mails", "All emails", "E-mails", "Emails")),
    Target("phones_all", _("All phones (separated by ;)"), "list", synonyms=(
        "All phones", "All phone numbers", "Phones")),
    Target("title", _("Job title"), synonyms=(
        "Title", "Job", "Position", "Role", "Organization 1 - Title", "Berufsbezeichnung",
        "Funktion", "Fonction", "Poste", "Functie")),
    Target("company", _("Company"), "company", synonyms=(
        "Company Name", "Organization", "Organisation", "Organization 1 - Name", "Account",
        "Account Name", "Firma", "Unternehmen", "Société", "Entreprise", "Bedrijf",
        "Organisatie")),
    Target("company_domain", _("Company domain"), "company_domain", synonyms=(
        "Company Website", "Company Domain Name")),
    *ADDRESS,
    Target("birthday", _("Birthday"), "date", synonyms=(
        "Date of Birth", "Birth Date", "DOB", "Geburtstag", "Geburtsdatum",
        "Date de naissance", "Anniversaire", "Geboortedatum", "Verjaardag")),
    Target("lifecycle_stage", _("Lifecycle stage"), "choice", synonyms=("Stage", "Lifecycle"),
           choices=tuple(LifecycleStage.choices)),
    Target("time_zone", _("Time zone"), synonyms=("Timezone", "Zeitzone", "Fuseau horaire")),
    Target("do_not_contact", _("Do not contact"), "bool", synonyms=("DNC", "Opt out")),
    Target("note", _("Note (added to the timeline)"), "note", synonyms=(
        "Notes", "Comment", "Comments", "Notiz", "Notizen", "Bemerkung", "Remarque",
        "Opmerking")),
    *COMMON,
    EXPORT_ID,
]

COMPANY_TARGETS = [
    Target("name", _("Name"), synonyms=(
        "Company", "Company Name", "Organization", "Organisation", "Account", "Account Name",
        "Firma", "Firmenname", "Unternehmen", "Société", "Entreprise", "Raison sociale",
        "Bedrijf", "Bedrijfsnaam")),
    Target("domain", _("Domain"), synonyms=("Domain Name", "Domäne", "Domaine")),
    Target("website", _("Website"), synonyms=(
        "Web Page", "Web Site", "URL", "Homepage", "Webseite", "Site web", "Site")),
    Target("industry", _("Industry"), synonyms=("Sector", "Branche", "Secteur", "Sector")),
    Target("size", _("Size"), "choice", synonyms=("Company Size", "Größe", "Taille"),
           choices=tuple(CompanySize.choices)),
    Target("employees", _("Employees"), "integer", synonyms=(
        "Number of Employees", "Headcount", "Mitarbeiter", "Mitarbeiterzahl", "Employés",
        "Effectif", "Medewerkers")),
    Target("annual_revenue", _("Annual revenue"), "decimal", synonyms=(
        "Revenue", "Annual Sales", "Umsatz", "Jahresumsatz", "Chiffre d'affaires", "Omzet")),
    Target("currency", _("Currency"), synonyms=("Währung", "Devise", "Valuta")),
    Target("phone", _("Phone"), "phone", synonyms=(
        "Phone Number", "Telephone", "Main Phone", "Telefon", "Téléphone", "Telefoon")),
    Target("description", _("Description"), synonyms=(
        "Notes", "About", "Beschreibung", "Notizen", "Remarque", "Omschrijving")),
    Target("parent", _("Parent company"), "company", synonyms=(
        "Parent", "Parent Account", "Muttergesellschaft", "Société mère", "Moederbedrijf")),
    *ADDRESS,
    *COMMON,
    EXPORT_ID,
]

register(Entity(
    key="contact", label=_("Contact"), plural=_("Contacts"), model=Contact,
    permission="contacts", built_in=CONTACT_TARGETS,
    required_hint=_("Each row needs a first name, a last name, a full name or an e-mail."),
    match_hint=_("A row matches an existing contact by any of its e-mail addresses (case does "
                 "not matter), then by its id in another system, then by the ID of an "
                 "Accord export that an earlier import of that export kept."),
))
register(Entity(
    key="company", label=_("Company"), plural=_("Companies"), model=Company,
    permission="companies", built_in=COMPANY_TARGETS,
    required_hint=_("Each row needs a name."),
    match_hint=_("A row matches an existing company by its id in another system, then by "
                 "domain, then by name (case and accents do not matter), then by the ID of "
                 "an Accord export that an earlier import of that export kept."),
))

DEAL_TARGETS = [
    Target("name", _("Name"), synonyms=(
        "Deal", "Deal name", "Deal title", "Opportunity", "Opportunity name", "Title",
        "Verkaufschance", "Affaire", "Opportunité")),
    Target("pipeline", _("Pipeline (by name)"), "pipeline", synonyms=("Sales pipeline",)),
    Target("stage", _("Stage (by name)"), "stage", synonyms=(
        "Deal stage", "Sales stage", "Opportunity stage", "Phase", "Étape", "Fase")),
    Target("amount", _("Amount"), "decimal", synonyms=(
        "Value", "Deal value", "Close value", "Deal amount", "Opportunity amount", "Betrag",
        "Wert", "Montant", "Bedrag")),
    Target("currency", _("Currency"), synonyms=("Währung", "Devise", "Valuta")),
    Target("expected_close_date", _("Expected close"), "date", synonyms=(
        "Expected close date", "Expected closing date", "Forecast close date")),
    Target("opened_on", _("Began on (dates the deal's history; new deals only)"), "date",
           synonyms=("Began on", "Begin date", "Engage date", "Engaged on", "Created",
                     "Created date", "Created on", "Open date", "Opened on", "Start date",
                     "Date created")),
    Target("closed_on", _("Closed on (won or lost deals)"), "date", synonyms=(
        "Close date", "Closing date", "Date closed", "Won date", "Lost date")),
    Target("close_reason", _("Won or lost reason"), synonyms=(
        "Reason", "Lost reason", "Won reason", "Close reason", "Loss reason")),
    Target("owner", _("Owner (e-mail or full name)"), "member", synonyms=(
        "Deal owner", "Opportunity owner", "Sales agent", "Salesperson", "Sales rep",
        "Account executive", "Agent", "Besitzer")),
    Target("company", _("Company (by name)"), "company", synonyms=(
        "Company name", "Account", "Account name", "Organization", "Organisation", "Customer",
        "Firma", "Unternehmen", "Société", "Entreprise", "Bedrijf")),
    Target("company_domain", _("Company domain"), "company_domain", synonyms=(
        "Company website", "Company domain name")),
    Target("contact", _("Contact (by e-mail)"), "contact", synonyms=(
        "Contact e-mail", "Contact email", "Contact e-mail address", "Primary contact")),
    Target("product", _("Product (by name or SKU, one line item)"), "product", synonyms=(
        "Product name", "Product SKU", "SKU", "Item", "Produkt", "Produit")),
    Target("source", _("Source"), synonyms=("Lead source", "Deal source", "Quelle",
                                            "Origine", "Bron")),
    Target("description", _("Description"), synonyms=("Notes", "Details", "Beschreibung")),
    Target("external_id", _("Id in another system"), "identifier", synonyms=(
        "External ID", "ID", "Deal ID", "Opportunity ID", "Record ID")),
    EXPORT_ID,
]

PRODUCT_TARGETS = [
    Target("sku", _("SKU"), synonyms=(
        "Product code", "Item code", "Article number", "Part number", "Stock code",
        "StockCode", "Code", "Artikelnummer", "Référence")),
    Target("name", _("Name"), synonyms=(
        "Product", "Product name", "Item", "Item name", "Produkt", "Produktname", "Produit",
        "Nom du produit")),
    Target("unit_price", _("Price"), "decimal", synonyms=(
        "Unit price", "List price", "Sales price", "Sale price", "Preis", "Prix", "Prijs")),
    Target("currency", _("Currency"), synonyms=("Währung", "Devise", "Valuta")),
    Target("category", _("Category"), synonyms=(
        "Series", "Product line", "Product family", "Group", "Kategorie", "Catégorie")),
    Target("description", _("Description"), synonyms=("Beschreibung", "Omschrijving")),
    Target("is_active", _("Active"), "bool", synonyms=("Is active", "Enabled")),
    Target("external_id", _("Id in another system"), "identifier", synonyms=(
        "External ID", "ID", "Product ID", "Record ID")),
    EXPORT_ID,
]

register(Entity(
    key="deal", label=_("Deal"), plural=_("Deals"), model=Deal,
    permission="deals", built_in=DEAL_TARGETS,
    required_hint=_("Each row needs a name, or a product or company to name the deal after. "
                    "Pipeline, stage, owner, product and contact must name existing ones."),
    match_hint=_("A row matches an existing deal by its id in another system, or by the ID "
                 "of an Accord export that an earlier import of that export kept; without "
                 "either, every row is a new deal."),
    matched_by=("external_id", "export_id"),
))
register(Entity(
    key="product", label=_("Product"), plural=_("Products"), model=Product,
    permission="products", add_permission="products.manage", built_in=PRODUCT_TARGETS,
    required_hint=_("Each row needs a name and a price; a row without a SKU gets one made "
                    "from the name (Nimbus Pro becomes NIMBUS-PRO)."),
    match_hint=_("A row matches an existing product by its SKU (exactly), then by its id in "
                 "another system, then by the ID of an Accord export that an earlier import "
                 "of that export kept."),
))

LEAD_TARGETS = [
    Target("first_name", _("First name"), synonyms=(
        "First", "Given name", "Forename", "Vorname", "Prénom", "Voornaam")),
    Target("last_name", _("Last name"), synonyms=(
        "Last", "Surname", "Family name", "Nachname", "Nom", "Achternaam")),
    Target("name", _("Full name"), "full_name", synonyms=("Name", "Lead name", "Contact name")),
    Target("email", _("E-mail"), synonyms=(
        "Email", "E-mail address", "Email address", "Mail", "Lead e-mail", "E-Mail-Adresse")),
    Target("phone", _("Phone"), synonyms=("Phone number", "Telephone", "Mobile", "Telefon")),
    Target("title", _("Job title"), synonyms=("Title", "Position", "Role", "Jobtitel")),
    Target("company_name", _("Company"), synonyms=(
        "Company name", "Organization", "Organisation", "Account", "Firma", "Société")),
    Target("website", _("Website"), synonyms=("Web site", "URL", "Homepage", "Webseite")),
    Target("industry", _("Industry"), synonyms=("Sector", "Branche", "Secteur")),
    Target("company_size", _("Company size"), "choice", choices=tuple(CompanySize.choices),
           synonyms=("Employees range", "Size")),
    Target("country", _("Country"), "country", synonyms=("Land", "Pays")),
    Target("source", _("Source"), synonyms=("Lead source", "Quelle", "Origine", "Bron")),
    Target("description", _("Description"), synonyms=("Notes", "Message", "Comments")),
    Target("owner", _("Owner (e-mail or full name)"), "member", synonyms=(
        "Lead owner", "Assigned to", "Sales rep", "Besitzer")),
    Target("external_id", _("Id in another system"), "identifier", synonyms=(
        "External ID", "ID", "Lead ID", "Record ID")),
]

register(Entity(
    key="lead", label=_("Lead"), plural=_("Leads"), model=Lead,
    permission="leads", built_in=LEAD_TARGETS,
    required_hint=_("Each row needs a name, an e-mail address or a company. Owners not "
                    "given are chosen by the lead assignment rules."),
    match_hint=_("A row matches an open lead (new or being worked on) by its e-mail address, "
                 "then by its id in another system."),
))

ORDER_TARGETS = [
    Target("number", _("Order number"), synonyms=(
        "InvoiceNo", "Invoice", "Invoice number", "Invoice no", "Order", "Order no",
        "Order ID", "Order number", "Bestellnummer", "Rechnungsnummer", "Numéro de commande",
        "Ordernummer")),
    Target("placed_at", _("Placed (date and time)"), "datetime", synonyms=(
        "InvoiceDate", "Invoice date", "Order date", "Date", "Placed at", "Created at",
        "Bestelldatum", "Date de commande", "Besteldatum")),
    Target("customer", _("Customer (contact's id in another system)"), "identifier",
           synonyms=("CustomerID", "Customer ID", "Customer number", "Customer", "Kundennummer",
                     "Numéro client", "Klantnummer")),
    Target("contact_id", _("Contact (by ID in the exported Accord organisation)"),
           "identifier", synonyms=("Contact ID",)),
    Target("sku", _("SKU"), synonyms=(
        "StockCode", "Stock code", "Product code", "Item code", "Article number", "Product SKU",
        "Artikelnummer", "Référence")),
    Target("description", _("Description"), synonyms=(
        "Item", "Product", "Product name", "Item name", "Beschreibung", "Produit",
        "Omschrijving")),
    Target("quantity", _("Quantity"), "decimal", synonyms=("Qty", "Menge", "Quantité",
                                                           "Aantal")),
    Target("unit_price", _("Unit price"), "decimal", synonyms=(
        "UnitPrice", "Price", "Item price", "Preis", "Prix", "Prijs")),
    Target("discount_percent", _("Discount (%)"), "decimal", synonyms=("Discount",
                                                                       "Rabatt")),
    Target("tax_percent", _("Tax (%)"), "decimal", synonyms=("Tax rate", "VAT", "VAT rate",
                                                             "MwSt")),
    Target("currency", _("Currency"), synonyms=("Währung", "Devise", "Valuta")),
    Target("channel", _("Channel"), "choice", synonyms=("Sales channel", "Kanal", "Canal"),
           choices=tuple(Channel.choices)),
    Target("status", _("Status"), "choice", synonyms=("Order status",),
           choices=tuple(OrderStatus.choices)),
]

register(Entity(
    key="order", label=_("Order"), plural=_("Orders"), model=Order,
    permission="orders", built_in=ORDER_TARGETS,
    required_hint=_("Each row is one line of an order: an order number, a quantity and a "
                    "unit price (0 is allowed). Rows with the same number make one order; "
                    "a number starting with C is a return, with negative quantities."),
    match_hint=_("An order whose number is already here is left as it is and its rows are "
                 "skipped. A line's SKU finds its catalogue product; an unknown SKU keeps "
                 "the SKU and description without one. The customer column finds a contact "
                 "by its id in another system (17850.0 reads as 17850); a blank one makes a "
                 "guest order. A contact ID from Accord's own export finds the contact the "
                 "contacts file of that export brought in."),
    # An order already here is skipped whole, whatever the policy says.
    matched_by=(),
))

CUSTOM_FIELD_TARGETS = [
    Target("entity", _("Record type"), "choice", synonyms=("Entity", "Object", "Record"),
           choices=tuple(FieldOwner.choices)),
    Target("key", _("Key"), synonyms=("Field key", "API name", "Internal name")),
    Target("label", _("Label"), synonyms=("Name", "Field name", "Field label")),
    Target("field_type", _("Type"), "choice", synonyms=("Field type", "Data type"),
           choices=tuple(FieldType.choices)),
    Target("choices", _("Choices (separated by ;)"), synonyms=("Options", "Picklist values")),
    Target("currency", _("Currency")),
    Target("required", _("Required"), "bool", synonyms=("Mandatory",)),
    Target("help_text", _("Help text"), synonyms=("Help", "Description")),
    Target("position", _("Position"), "integer", synonyms=("Order", "Sort order")),
    Target("is_active", _("Active"), "bool", synonyms=("Is active", "Enabled")),
    Target("hidden_from_roles", _("Hidden from roles (separated by ;)"),
           synonyms=("Hidden from",)),
    Target("encrypted", _("Encrypted at rest"), "bool", synonyms=("Encrypted",)),
]


@dataclass
class FieldDefinitionEntity(Entity):
    """Custom field definitions: their own settings are the only targets."""

    def targets(self) -> list[Target]:
        return list(self.built_in)


register(FieldDefinitionEntity(
    key="custom_field", label=_("Custom field"), plural=_("Custom fields"), model=CustomField,
    permission="custom_fields", add_permission="custom_fields.manage",
    built_in=CUSTOM_FIELD_TARGETS,
    required_hint=_("Each row needs a record type (contact, company, deal or ticket), a label "
                    "and a type; the key is made from the label when the file gives none. "
                    "Choices and hidden roles are separated by ;, as an organisation export "
                    "writes them, so a choice cannot contain ; here."),
    match_hint=_("A row matches the field of its record type with the same key. Skip leaves "
                 "that field as it is; fill gives it the file's choices, currency, help text "
                 "or hidden roles where it has none; overwrite gives it every setting the "
                 "file has, as editing it under Settings does, active or not included. A "
                 "field's key and type never change, so a row naming another type fails, and "
                 "create skips a matching row, as a key is used once per record type."),
))

ACTIVITY_TARGETS = [
    Target("kind", _("Type (note, call, meeting, email or task)"), "choice", synonyms=(
        "Type", "Activity type", "Activity", "Typ", "Art", "Aktivitätstyp"),
           choices=tuple((kind.value, kind.label) for kind in USER_KINDS)),
    Target("subject", _("Subject"), synonyms=(
        "Title", "Summary", "Task", "Betreff", "Titel", "Objet", "Sujet", "Onderwerp")),
    Target("body", _("Details"), synonyms=(
        "Body", "Description", "Note", "Notes", "Comment", "Comments", "Content", "Text",
        "Beschreibung", "Notiz", "Inhalt", "Remarque", "Omschrijving")),
    Target("occurred_at", _("When (date and time)"), "datetime", synonyms=(
        "Date", "Occurred at", "Occurred on", "Activity date", "Date and time", "Datum",
        "Zeitpunkt", "Date de l'activité")),
    Target("due_at", _("Due (tasks)"), "datetime", synonyms=(
        "Due", "Due date", "Due on", "Deadline", "Fällig", "Fälligkeit", "Échéance")),
    Target("done", _("Done (tasks)"), "bool", synonyms=(
        "Completed", "Is done", "Is completed", "Erledigt", "Terminé", "Klaar")),
    Target("completed_at", _("Done at (tasks)"), "datetime", synonyms=(
        "Completed at", "Completed on", "Completion date", "Done on", "Erledigt am")),
    Target("contact", _("Contact (by e-mail)"), synonyms=(
        "Contact e-mail", "Contact email", "E-mail", "Email", "Kontakt")),
    Target("contact_id", _("Contact (by ID in the exported organisation or another system)"),
           "identifier", synonyms=("Contact ID", "Kontakt-ID")),
    Target("company", _("Company (by name or domain)"), synonyms=(
        "Company name", "Company domain", "Account", "Account name", "Organization",
        "Organisation", "Firma", "Unternehmen", "Société", "Entreprise", "Bedrijf")),
    Target("company_id", _("Company (by ID in the exported organisation or another system)"),
           "identifier", synonyms=("Company ID", "Account ID", "Firmen-ID")),
    Target("deal", _("Deal (by name)"), synonyms=("Deal name", "Opportunity", "Affaire")),
    Target("deal_id", _("Deal (by ID in another system)"), "identifier",
           synonyms=("Deal ID", "Opportunity ID")),
    Target("direction", _("Direction (inbound or outbound)"), "choice",
           synonyms=("Call direction", "Richtung"), choices=tuple(Direction.choices)),
    Target("outcome", _("Call outcome"), "choice", synonyms=("Result", "Call result",
                                                             "Ergebnis"),
           choices=tuple(CallOutcome.choices)),
    Target("duration_minutes", _("Duration (minutes)"), "integer", synonyms=(
        "Duration", "Minutes", "Dauer", "Durée")),
    Target("assignee", _("Assignee (e-mail or full name; tasks)"), "member", synonyms=(
        "Assigned to", "Task owner", "Owner", "Zuständig", "Responsable")),
    Target("external_id", _("Id in another system"), "identifier", synonyms=(
        "External ID", "ID", "Activity ID", "Record ID")),
]

@dataclass
class ActivityEntity(Entity):
    """Timeline entries: activities have no custom fields, so the built-in targets are all."""

    def targets(self) -> list[Target]:
        return list(self.built_in)


register(ActivityEntity(
    key="activity", label=_("Activity"), plural=_("Activities"), model=Activity,
    permission="activities", built_in=ACTIVITY_TARGETS,
    required_hint=_("Each row is one note, call, meeting, e-mail or task on the timeline of a "
                    "contact (by e-mail or id), a company (by name, domain or id) or a deal "
                    "(by name) that is already here; a task needs a subject, the others a "
                    "subject or details. Dates carry their time zone or are read in yours."),
    match_hint=_("Activities are never matched by their content: every row is a new entry, "
                 "unless its id in another system is one an earlier import of activities "
                 "gave, which then matches that entry. System events (created, stage "
                 "changed) in Accord's own export are skipped: the new organisation writes "
                 "its own."),
    matched_by=("external_id",),
))

CUSTOM_KINDS = {f"cf.{kind}" for kind in FieldType.values}


# Custom record types differ per organisation, so they are not in REGISTRY:
# `for_org` builds an entity for "record:<type key>" from the type's fields.

RECORD_PREFIX = "record:"
LINK_HINTS = {
    "contact": _("by e-mail"),
    "company": _("by name or domain"),
    "deal": _("by name"),
    "record": _("by title"),
}


@dataclass
class RecordEntity(Entity):
    """The records of one custom type: a target per field the acting member may see."""

    record_type: object = None

    def permissions_to_import(self) -> list[str]:
        # A row matching an earlier import changes that record.
        return ["records.add", "records.change"]

    def targets(self) -> list[Target]:
        """`cf.<key>` for plain fields, `link.<key>` for links, then owner and external id."""
        found = []
        for custom in records.fields_of(self.record_type, acting_member()):
            label = custom.label
            if custom.is_relation:
                label = f"{label} ({LINK_HINTS[custom.field_type]})"
                found.append(Target(f"link.{custom.key}", label, "link", (custom.key,)))
                continue
            # Money is read as text: a cell may name its currency ("1250.00 EUR").
            kind = "money" if custom.field_type == FieldType.MONEY else f"cf.{custom.field_type}"
            found.append(Target(f"cf.{custom.key}", label, kind, (custom.key,), custom=custom))
        found.append(Target("owner", _("Owner (e-mail or full name)"), "member",
                            synonyms=("Owner e-mail", "Record owner")))
        found.append(Target("external_id", _("Id in another system"), "identifier",
                            synonyms=("External ID", "ID", "Record ID")))
        return found


def record_entity(record_type) -> RecordEntity:
    return RecordEntity(
        key=f"{RECORD_PREFIX}{record_type.key}", label=record_type.singular,
        plural=record_type.plural, model=Record, permission="records", built_in=[],
        required_hint=_("Each row needs the fields the type requires. Links name an existing "
                        "contact by e-mail, company by name or domain, deal by name or record "
                        "by title; several are separated by ;."),
        match_hint=_("A row matches an existing record of this type by its id in another "
                     "system only; without one, every row is a new record."),
        matched_by=("external_id",), record_type=record_type,
    )


def for_org(org, key) -> Entity | None:
    """The entity `key` names in `org`: a built-in one, or "record:<type key>" for one of
    its active record types; None when it names neither. Call inside the org's scope."""
    key = str(key or "")
    if not key.startswith(RECORD_PREFIX):
        return get(key)
    record_type = RecordType.objects.filter(organization=org, is_active=True,
                                            key=key.removeprefix(RECORD_PREFIX)).first()
    return record_entity(record_type) if record_type else None


def choices_for(org) -> list[tuple[str, str]]:
    """The built-in entities, then the organisation's active record types."""
    types = RecordType.objects.filter(organization=org, is_active=True).order_by(
        "position", "plural", "id")
    return [*choices(), *((f"{RECORD_PREFIX}{kind.key}", kind.plural) for kind in types)]


def keys_for(org) -> list[str]:
    return [key for key, _label in choices_for(org)]
