"""HTTP helpers shared by the views, the API and the admin: links to hand out, file responses."""
