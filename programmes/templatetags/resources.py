"""Prompts from the resource library on the pages where a stage's work is done: "before the
visit" on the visit page, "after the visit" beside the plan's aim, drivers and measures,
"sustaining" beside its sustainability section (issue 11: resources at the right stage)."""

from django import template
from django.db.models import Count, Window

from ..models import Resource

register = template.Library()

PROMPT_LENGTH = 3
HEADINGS = {
    Resource.Stage.BEFORE_VISIT: "Help to prepare for the visit",
    Resource.Stage.AFTER_VISIT: "Help with planning the improvement",
    Resource.Stage.SUSTAINING: "Help with making the change last",
}


def stage_resources(programme_id: int, stage: str) -> list[Resource]:
    """The first few of a programme's resources for one stage, each carrying ``total`` (how
    many there are in all), in one query: a window count over the whole filtered set is
    computed before LIMIT applies."""
    if stage not in Resource.Stage.values:
        return []
    return list(Resource.objects.filter(programme_id=programme_id, **{stage: True})
                .annotate(total=Window(Count("pk")))
                .order_by("title", "pk")[:PROMPT_LENGTH])


@register.inclusion_tag("includes/resource_prompt.html")
def resources_for(programme, stage: str, heading_level: int = 2) -> dict:
    """``{% resources_for plan.programme_id "sustaining" %}``: up to three resources for the
    stage, with a link to all of them; nothing at all when there are none."""
    programme_id = getattr(programme, "pk", programme)
    items = stage_resources(programme_id, stage)
    return {"items": items, "total": items[0].total if items else 0,
            "programme_id": programme_id, "stage": stage,
            "heading": HEADINGS.get(stage, ""), "heading_level": heading_level}


FILE_TYPES = {
    "pdf": "PDF", "doc": "Word document", "docx": "Word document", "odt": "OpenDocument text",
    "xls": "Excel spreadsheet", "xlsx": "Excel spreadsheet", "ods": "OpenDocument spreadsheet",
    "ppt": "PowerPoint slides", "pptx": "PowerPoint slides", "odp": "OpenDocument slides",
    "rtf": "Rich text", "txt": "Text", "csv": "CSV", "png": "PNG image", "jpg": "JPEG image",
    "jpeg": "JPEG image",
}


@register.filter
def file_type(filename: str) -> str:
    """What kind of file a download is, in words, so people know what will open it."""
    extension = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    return FILE_TYPES.get(extension, extension.upper() or "File")
