"""The supporter's own page: sign-in by email link, their giving, their membership."""
