# A release is imported as <config id>/<Conflux version id>.
terraform import conflux_release.v3 acme/shop/prod/db.json/ver_0123456789abcdef
