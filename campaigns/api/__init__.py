"""REST endpoints of the campaigns app, one module per resource: `campaigns`,
`programs` (and spend), `opportunities`, `rankings`, `plans` and `reports`;
`shared` holds the permissions, error mapping and CSV rendering they share.
The routes are listed in `config.urls` (the /api/ namespace spans the apps)."""
