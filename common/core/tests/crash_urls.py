from django.urls import include, path


def crash(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/v1/crash", crash), path("", include("config.urls"))]
handler404 = "common.core.exceptions.json_404"
handler500 = "common.core.exceptions.json_500"
