"""OpenAPI: RevocableJWTAuthentication (and its subclasses, such as the one that reads the membership along with
the user) is documented as the same bearer JWT scheme as simplejwt's."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class RevocableJWTScheme(SimpleJWTScheme):
    target_class = "apps.users.authentication.RevocableJWTAuthentication"
    match_subclasses = True
