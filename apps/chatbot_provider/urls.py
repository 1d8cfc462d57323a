"""URL routes of this app, mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from apps.chatbot_provider.api import ProviderViewSet

router = SimpleRouter(trailing_slash=False)
router.register("providers", ProviderViewSet, basename="provider")

urlpatterns = router.urls
