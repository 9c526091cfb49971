"""Input and output serializers for products and prices (Stripe's shapes).

``fields`` holds the shared fields; ``prices`` and ``products`` the parameters and
the output shape of each object.
"""

from catalog.api.serializers.fields import (
    PRODUCT_ID_PATTERN,
    CurrencyField,
    UpToField,
)
from catalog.api.serializers.prices import (
    PriceCreateParams,
    PriceListParams,
    PriceSerializer,
    PriceUpdateParams,
    ProductDataParams,
    RecurringFilterParams,
    RecurringParams,
    RecurringSerializer,
    TierParams,
    TierSerializer,
    TransformQuantityParams,
    TransformQuantitySerializer,
)
from catalog.api.serializers.products import (
    DefaultPriceDataParams,
    DefaultPriceRecurringParams,
    MarketingFeatureParams,
    PackageDimensionsParams,
    ProductCreateParams,
    ProductListParams,
    ProductParams,
    ProductSerializer,
    ProductUpdateParams,
)

__all__ = [
    "PRODUCT_ID_PATTERN",
    "CurrencyField",
    "UpToField",
    "TierParams",
    "TransformQuantityParams",
    "RecurringParams",
    "ProductDataParams",
    "PriceCreateParams",
    "PriceUpdateParams",
    "RecurringFilterParams",
    "PriceListParams",
    "TierSerializer",
    "RecurringSerializer",
    "TransformQuantitySerializer",
    "PriceSerializer",
    "MarketingFeatureParams",
    "PackageDimensionsParams",
    "DefaultPriceRecurringParams",
    "DefaultPriceDataParams",
    "ProductParams",
    "ProductCreateParams",
    "ProductUpdateParams",
    "ProductListParams",
    "ProductSerializer",
]
