"""English date formats as human-rights reports write them: "25 October 2016", "May 2016"
(Django's English default is the American "Oct. 25, 2016"). Other languages take
Django's own formats, or a module of theirs next to this one."""

DATE_FORMAT = "j F Y"
YEAR_MONTH_FORMAT = "F Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j F Y, H:i"
