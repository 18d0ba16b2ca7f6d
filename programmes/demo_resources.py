"""The demo's resource library: guides, templates and links for each stage of the year, so a
demo team sees the library from its first day and the prompts beside its visit and plans.

The two PDFs are our own short checklists, drawn by ilcop.pdf; the links go to NHS England's
public improvement pages.
"""

from django.core.files.uploadedfile import SimpleUploadedFile

from ilcop.models import User
from ilcop.pdf import render_pdf

from .models import Programme, Resource
from .services.resources import resource_create

PDF_TEMPLATE = "programmes/resources/demo_pdf.html"

VISIT_CHECKLIST = {
    "title": "Preparing for your peer review visit: a checklist",
    "introduction": "The visit is a conversation between peers, not an inspection. These are "
                    "the things teams told us they wished they had done a month before.",
    "sections": [
        ("Four weeks before", [
            "Agree who from your MDT will host each session, and put it in their job plan.",
            "Check your latest audit figures in the data pack and note anything that looks "
            "wrong or out of date.",
            "Ask your patient representative whether they would like to take part.",
        ]),
        ("Two weeks before", [
            "Book a room that fits everyone, with a screen, near the MDT meeting room.",
            "Send the visiting team directions, parking details and a contact on the day.",
            "Choose two or three things you would most like the visitors' view on.",
        ]),
        ("On the day", [
            "Run the MDT meeting as you normally would: the visitors learn most from the real "
            "thing.",
            "Keep time for the feedback session at the end, with the whole team present.",
        ]),
    ],
}
SUSTAINABILITY_QUESTIONS = {
    "title": "Planning for sustainability: questions for your team",
    "introduction": "Teams in earlier programmes found that changes faded when the people who "
                    "started them moved on. Ask these questions when you write your plan, not "
                    "at the end.",
    "sections": [
        ("People", [
            "Who owns each change once the programme ends? Are they permanent staff?",
            "Who would notice first if the change stopped happening?",
        ]),
        ("Processes", [
            "Is the change written into a standard operating procedure, a template or a "
            "rota, so it does not depend on memory?",
            "Which measure will you keep collecting, how often, and who will look at it?",
        ]),
        ("Support", [
            "Which governance meeting will hear about the change each quarter?",
            "What would you need from your trust to keep it going, and who will ask for it?",
        ]),
    ],
}

LINKS = [
    ("Sustainable improvement at NHS England", Resource.Kind.READING,
     ["sustaining"], ["Sustainability"],
     "https://www.england.nhs.uk/sustainableimprovement/",
     "NHS England's improvement pages: tools, case studies and guides to quality improvement "
     "methods."),
    ("Quality, service improvement and redesign (QSIR) tools", Resource.Kind.TOOL,
     ["after_visit", "sustaining"], ["Driver diagrams", "PDSA cycles", "Measures"],
     "https://www.england.nhs.uk/quality-service-improvement-and-redesign-qsir-tools/",
     "Practical guides to driver diagrams, process mapping, PDSA cycles and measurement for "
     "improvement."),
    ("Making data count: statistical process control", Resource.Kind.GUIDE,
     ["after_visit", "sustaining"], ["Measures"],
     "https://www.england.nhs.uk/statistical-process-control-tool/",
     "How to read run charts and SPC charts like the ones on your plan's measures."),
    ("NHS England's cancer programme", Resource.Kind.READING,
     ["before_visit", "after_visit"], ["MDT effectiveness"],
     "https://www.england.nhs.uk/cancer/",
     "National cancer pages, including guidance on running MDT meetings well."),
]

TEXT_FILES = [
    ("A driver diagram template", Resource.Kind.TEMPLATE, ["after_visit"],
     ["Driver diagrams"], "driver-diagram-template.txt",
     "A blank layout for your aim, primary and secondary drivers and change ideas: copy it "
     "into your plan.",
     "AIM: what will improve, by how much, for whom, by when\n\n"
     "PRIMARY DRIVERS: the three or four big things that must change\n\n"
     "SECONDARY DRIVERS: what has to happen for each primary driver\n\n"
     "CHANGE IDEAS: what you will test, one PDSA cycle at a time\n"),
    ("PDSA cycle record sheet", Resource.Kind.TOOL, ["after_visit", "sustaining"],
     ["PDSA cycles"], "pdsa-record-sheet.csv",
     "A sheet for recording each test of change: the question, the prediction, what "
     "happened and what you decided.",
     "cycle,change idea,question,prediction,what happened,results,decision\n"),
]


def _pdf(content: dict, programme: Programme, name: str) -> SimpleUploadedFile:
    data = render_pdf(PDF_TEMPLATE, {**content, "programme_name": programme.name})
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def build_demo_resources(programme: Programme, core_user: User) -> list[Resource]:
    """About eight resources across the three stages; nothing if the library has some."""
    if programme.resources.exists():
        return []
    made = [
        resource_create(
            programme=programme, user=core_user, title=VISIT_CHECKLIST["title"],
            description="What to arrange four weeks, two weeks and a day before you host.",
            kind=Resource.Kind.GUIDE, stages=["before_visit"],
            topics="Visit preparation, MDT effectiveness",
            upload=_pdf(VISIT_CHECKLIST, programme, "preparing-for-your-visit.pdf")),
        resource_create(
            programme=programme, user=core_user, title=SUSTAINABILITY_QUESTIONS["title"],
            description="Questions to answer while you write your plan, so the change "
                        "outlasts the programme.",
            kind=Resource.Kind.TOOL, stages=["after_visit", "sustaining"],
            topics="Sustainability",
            upload=_pdf(SUSTAINABILITY_QUESTIONS, programme, "planning-for-sustainability.pdf")),
    ]
    for title, kind, stages, topics, name, description, text in TEXT_FILES:
        made.append(resource_create(
            programme=programme, user=core_user, title=title, description=description,
            kind=kind, stages=stages, topics=", ".join(topics),
            upload=SimpleUploadedFile(name, text.encode(), content_type="text/plain")))
    for title, kind, stages, topics, link, description in LINKS:
        made.append(resource_create(
            programme=programme, user=core_user, title=title, description=description,
            kind=kind, stages=stages, topics=", ".join(topics), link=link))
    return made
