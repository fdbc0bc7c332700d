from ninja import Router

contacts = Router(tags=["contacts"])
companies = Router(tags=["companies"])
custom_fields = Router(tags=["custom fields"])
tags = Router(tags=["tags"])
