"""Django forms shared by the organizer pages."""
