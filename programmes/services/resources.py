"""The resource library: QI guides, templates and sustainability resources the core team adds
for everyone taking part (issue 11). Open from a site's first day, so material on sustaining
the change is there from the start rather than at the end."""

import re

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.models import User
from ilcop.uploads import display_name

from ..models import Programme, Resource, ResourceTopic

STAGE_FIELDS = tuple(stage.value for stage in Resource.Stage)
TOPIC_SEPARATORS = re.compile(r"[,;\n]")


def topic_names(text: str) -> list[str]:
    """"Driver diagrams, measures; PDSA" as a list of names, each once whatever its case."""
    names, seen = [], set()
    for part in TOPIC_SEPARATORS.split(text or ""):
        name = re.sub(r"\s+", " ", part).strip()[:80]
        if name and name.lower() not in seen:
            seen.add(name.lower())
            names.append(name)
    return names


def topics_ensure(*, programme: Programme, names: list[str]) -> list[ResourceTopic]:
    """The programme's topics with these names, matched without regard to case (the unique
    constraint is on the lower-cased name), made where there is none yet."""
    existing = {topic.name.lower(): topic for topic in ResourceTopic.objects.annotate(
        lowered=Lower("name")).filter(programme=programme,
                                      lowered__in=[n.lower() for n in names])}
    topics = []
    for name in names:
        topic = existing.get(name.lower())
        if topic is None:
            topic = ResourceTopic.objects.create(programme=programme, name=name)
            existing[name.lower()] = topic
        topics.append(topic)
    return topics


def _delete_file_after_commit(name: str, storage) -> None:
    # After the commit, so a rolled-back change never leaves a row pointing at nothing.
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def _check(resource: Resource, *, has_file: bool) -> None:
    """Validate before the upload is stored, so a refused change stores nothing."""
    resource.full_clean(exclude=["file", "topics"])
    if not has_file and not resource.link:
        raise ValidationError("Add a file or a link: a resource needs at least one")
    if not any(getattr(resource, field) for field in STAGE_FIELDS):
        raise ValidationError("Select at least one stage the resource helps with")


def _attach(resource: Resource, upload: UploadedFile) -> None:
    resource.filename = display_name(upload.name)
    resource.size = upload.size
    resource.file.save(upload.name, upload, save=False)


@transaction.atomic
def resource_create(*, programme: Programme, user: User, title: str, description: str = "",
                    kind: str = Resource.Kind.GUIDE, stages: list[str], topics: str = "",
                    link: str = "", upload: UploadedFile | None = None) -> Resource:
    resource = Resource(programme=programme, title=title, description=description, kind=kind,
                        link=link, created_by=user,
                        **{field: field in stages for field in STAGE_FIELDS})
    _check(resource, has_file=upload is not None)
    if upload is not None:
        _attach(resource, upload)
    resource.save()
    resource.topics.set(topics_ensure(programme=programme, names=topic_names(topics)))
    log_action(resource, "resource.added", actor=user,
               summary=f"Added the resource “{resource.title}” to the library",
               data={"kind": resource.kind, "stages": [s for s in STAGE_FIELDS if s in stages],
                     "file": bool(resource.file), "link": bool(resource.link)},
               scopes=[programme])
    return resource


@transaction.atomic
def resource_update(*, resource: Resource, user: User, title: str, description: str = "",
                    kind: str, stages: list[str], topics: str = "", link: str = "",
                    upload: UploadedFile | None = None, remove_file: bool = False) -> Resource:
    """Save the core team's changes. A new file replaces the old one, whose stored copy is
    deleted once the change is committed."""
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    old_file, storage = resource.file.name, resource.file.storage
    resource.title, resource.description, resource.kind = title, description, kind
    resource.link = link
    for field in STAGE_FIELDS:
        setattr(resource, field, field in stages)
    replaced = upload is not None or (remove_file and bool(old_file))
    if replaced:
        resource.file, resource.filename, resource.size = "", "", 0
    _check(resource, has_file=bool(resource.file) or upload is not None)
    if upload is not None:
        _attach(resource, upload)
    resource.updated_at = timezone.now()
    resource.save()
    if replaced:
        _delete_file_after_commit(old_file, storage)
    resource.topics.set(topics_ensure(programme=resource.programme, names=topic_names(topics)))
    log_action(resource, "resource.updated", actor=user,
               summary=f"Changed the resource “{resource.title}”",
               data={"new_file": upload is not None, "file_removed": upload is None and replaced},
               scopes=[resource.programme])
    return resource


@transaction.atomic
def resource_remove(*, resource: Resource, user: User) -> None:
    programme = resource.programme
    _delete_file_after_commit(resource.file.name, resource.file.storage)
    log_action(resource, "resource.removed", actor=user,
               summary=f"Removed the resource “{resource.title}” from the library",
               scopes=[programme])
    resource.delete()
