"""The product catalogue under `/api/v1/products`."""

from django.db.models import Q
from django.db.models.functions import Lower
from django.http import HttpRequest
from ninja import Query, Router, Status

from accord import bulk
from accord.bulk import RecordsBulkIn, RecordsBulkOut
from accord.identity.api_auth import allow
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import services
from .models import Product
from .schemas import ProductFilters, ProductIn, ProductOut, ProductPage, ProductPatch

products = Router(tags=["products"])
# Products written in bulk go through the same schemas, checks and services as one by one.
PRODUCTS = bulk.Kind(
    "product", ProductIn, ProductPatch, services.create_product, services.update_product,
    lambda request, pk: services.get_product(pk), "products.manage", "products.manage",
    lambda payload: payload.model_dump(exclude_unset=True, exclude={"version"}))

PRODUCT_ORDERINGS = {"name": Lower("name"), "sku": "sku", "unit_price": "unit_price",
                     "updated_at": "updated_at"}


def _product(product_id: int) -> Product:
    product = services.get_product(product_id)
    return Product.objects.prefetch_related("prices").get(pk=product.pk)


@products.get("", response=ProductPage, summary="List products")
def list_products(request: HttpRequest, filters: Query[ProductFilters]):
    allow(request, "products.view")
    ordering = parse_ordering(filters.ordering, PRODUCT_ORDERINGS, "name")
    queryset = Product.objects.prefetch_related("prices")
    if filters.sku:
        queryset = queryset.filter(sku__iexact=filters.sku.strip())
    if filters.category:
        queryset = queryset.filter(category__iexact=filters.category.strip())
    if filters.active is not None:
        queryset = queryset.filter(is_active=filters.active)
    # The catalogue is not in the search index: each word matches a name or a
    # SKU case-insensitively, accents as typed.
    for word in (filters.q or "").split():
        queryset = queryset.filter(Q(name__icontains=word) | Q(sku__icontains=word))
    items, next_cursor = paginate(queryset, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}


@products.post("", response={201: ProductOut}, summary="Create a product")
def create_product(request: HttpRequest, payload: ProductIn):
    allow(request, "products.manage")
    product = services.create_product(request.organization, request.user,
                                      data=payload.model_dump(exclude_unset=True))
    return Status(201, _product(product.pk))


@products.post("/bulk", response=RecordsBulkOut,
               summary="Create or change up to 1,000 products, with a result for each")
def bulk_products(request: HttpRequest, payload: RecordsBulkIn):
    return bulk.run_bulk(request, PRODUCTS, payload.items)


@products.get("/{product_id}", response=ProductOut, summary="Read a product")
def read_product(request: HttpRequest, product_id: int):
    allow(request, "products.view")
    return _product(product_id)


@products.patch("/{product_id}", response=ProductOut, summary="Change a product")
def update_product(request: HttpRequest, product_id: int, payload: ProductPatch):
    allow(request, "products.manage")
    product = services.get_product(product_id)
    services.update_product(request.organization, request.user, product,
                            data=payload.model_dump(exclude_unset=True, exclude={"version"}),
                            expected_version=payload.version)
    return _product(product_id)


@products.delete("/{product_id}", response={204: None},
                 summary="Take a product out of the catalogue (it is kept, inactive)")
def deactivate_product(request: HttpRequest, product_id: int, version: int | None = None):
    allow(request, "products.manage")
    product = services.get_product(product_id)
    services.deactivate_product(request.organization, request.user, product,
                                expected_version=version)
    return Status(204, None)
