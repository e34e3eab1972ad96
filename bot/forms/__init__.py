"""The form engine: every guided form of Leadbot, platform-neutral (no ``telegram`` here).

A form is data (:class:`Form`): its steps (:class:`Step` -- the field it fills, the
domain parser that validates typed text, the choices provider given the runtime
and the draft, optional / multi-select / file steps, a hook after an answer),
what ``begin`` checks and what ``save`` does (a service call). The draft
(:class:`Draft`, JSON) is kept in one table, ``form_drafts``, one row per person:
a restart or another instance continues it, and a new form replaces the old one.

Using it from an adapter (Telegram today, DingTalk and a web page next)::

    engine = FormEngine([report.form()], timeout=timedelta(minutes=60))
    async with db.session() as session:                 # one transaction per answer
        ctx = FormContext(session, services, actor, "tg:1101", clock.now(), "zh_CN")
        out = await engine.start(ctx, "report")         # open (drops any other form)
        out = await engine.text(ctx, "5000万")          # a typed answer
        out = await engine.press(ctx, CODEC.decode(d))  # a button (Choose / Act / Edit / STALE)
        out = await engine.file(ctx, FileRef(file_id, "document", "plan.pdf"))
        out = await engine.view(ctx)                    # the current step again
        out = await engine.cancel(ctx)
    # leaving the session commits the draft; only then render ``out``:
    out.status   # SHOWN (render out.view) | CLOSED / EXPIRED (say out.said) | STALE | NONE
    out.view     # StepView: notes + lines (catalog Msg), rows of Button(label, value), accepts
    out.replace  # a multi-select toggle: redraw the message the button was on
    engine.encode(button.value)  # the button's data (<= 64 bytes), decoded by CODEC.decode

Saving is a button (``Act(form, "save")``) on the summary view; the form's ``save``
runs in the same transaction as the draft's removal. ``engine.sweep(session, now)``
closes idle drafts (a scheduled job) and returns who to tell. docs/forms.md says more;
docs/forms/<form>.mmd draws each form.
"""

from bot.forms.callbacks import CODEC, STALE, Codec
from bot.forms.engine import FormEngine, Idle
from bot.forms.model import (
    Act,
    Answer,
    Button,
    Choose,
    Draft,
    Edit,
    FieldError,
    FileRef,
    Form,
    FormContext,
    Kind,
    Msg,
    Option,
    Outcome,
    Status,
    Step,
    StepView,
    Turn,
    label_text,
    msg,
)

__all__ = [
    "CODEC",
    "STALE",
    "Act",
    "Answer",
    "Button",
    "Choose",
    "Codec",
    "Draft",
    "Edit",
    "FieldError",
    "FileRef",
    "Form",
    "FormContext",
    "FormEngine",
    "Idle",
    "Kind",
    "Msg",
    "Option",
    "Outcome",
    "Status",
    "Step",
    "StepView",
    "Turn",
    "label_text",
    "msg",
]
