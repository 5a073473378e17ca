"""Date and time formats for English (settings.FORMAT_MODULE_PATH): times read the same in every
list and page, with their zone, instead of "Dec. 2, 2026, 9:16 p.m."."""

DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
