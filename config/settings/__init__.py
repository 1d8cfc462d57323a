"""Settings per environment: base (shared), dev, test, staging, prod. DJANGO_SETTINGS_MODULE picks one."""
