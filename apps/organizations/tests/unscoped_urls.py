"""A urlconf with an API view that forgot the tenant base class (used to prove the check notices)."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView


class LeakyAPI(APIView):
    def get(self, request):
        return Response([])


urlpatterns = [path("api/v1/leaky", LeakyAPI.as_view())]
