from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Product catalog"

    def ready(self) -> None:
        from catalog.api import features, serializers
        from catalog.models import Feature, Price, Product, ProductFeature
        from core import resources

        resources.register(
            resources.Resource(
                object_name="product",
                model=Product,
                serializer=serializers.ProductSerializer,
                expandable={"default_price": "price"},
            )
        )
        resources.register(
            resources.Resource(
                object_name="price",
                model=Price,
                serializer=serializers.PriceSerializer,
                expandable={"product": "product"},
            )
        )
        resources.register(
            resources.Resource(
                object_name="entitlements.feature",
                model=Feature,
                serializer=features.FeatureSerializer,
            )
        )
        resources.register(
            resources.Resource(
                object_name="product_feature",
                model=ProductFeature,
                serializer=features.ProductFeatureSerializer,
            )
        )
        self._register_dashboard()

    def _register_dashboard(self) -> None:
        from catalog.models import Product
        from core import dashboard

        dashboard.register_home_card(
            dashboard.HomeCard(
                name="products",
                label="Active products",
                value=lambda request: (
                    f"{Product.objects.filter(active=True).count():,}"
                ),
                url="/admin/catalog/product/?status=active",
                order=20,
            )
        )
        dashboard.register_quick_link(
            dashboard.QuickLink("Create product", "admin:catalog_product_add", order=10)
        )
