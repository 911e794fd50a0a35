"""On-call pages: "How CareLine reaches me" (a person's contact methods and notification rules)
and the escalation policies and routes in plain words."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods, require_POST

from careline.core.callers import signed_in
from careline.core.errors import CareLineError, InvalidInput
from careline.core.permissions import Perm, has_perm
from careline.core.views import require_page
from careline.oncall.models import ContactKind, WebhookTarget
from careline.oncall.services import contacts, policies, targets

CONTACT_FIELDS = ("kind", "address", "target", "label")
RULE_FIELDS = ("method", "priority", "delay_minutes")


def _me_context(
    request: HttpRequest, *, form: str = "", values: dict[str, str], error: CareLineError | None
) -> dict[str, Any]:
    actor = signed_in(request)
    fields = CONTACT_FIELDS if form == "contact" else RULE_FIELDS
    beside = error is not None and error.field in fields
    return {
        "methods": contacts.contact_methods(actor),
        "rules": contacts.notification_rules(actor),
        "chat_targets": WebhookTarget.objects.filter(
            active=True, kind__in=contacts.CHAT_TARGET_KINDS
        ).order_by("name"),
        "kinds": ContactKind.choices,
        "priorities": contacts.PRIORITIES,
        "form": form,
        "values": values,
        # An error about a field is shown beside it; any other above its form.
        "field": error.field if error is not None and beside else "",
        "message": error.message if error is not None and beside else "",
        "form_error": str(error) if error is not None and not beside else "",
        "max_delay": contacts.MAX_DELAY_MINUTES,
    }


def _add_from_form(request: HttpRequest, form: str) -> None:
    post = request.POST
    actor = signed_in(request)
    if form == "contact":
        contacts.add_contact_method(
            actor,
            kind=post.get("kind", ""),
            address=post.get("address", ""),
            target=post.get("target") or None,
            label=post.get("label", ""),
        )
        messages.success(request, "Contact method added.")
        return
    method, delay = post.get("method", ""), post.get("delay_minutes", "0").strip() or "0"
    if not method.isdigit():
        raise InvalidInput("choose one of your contact methods", field="method")
    try:
        delay_minutes = int(delay)
    except ValueError:
        raise InvalidInput(
            f"must be a whole number of minutes (got {delay[:20]!r})", field="delay_minutes"
        ) from None
    contacts.add_rule(
        actor,
        method=int(method),
        priority=post.get("priority", ""),
        delay_minutes=delay_minutes,
    )
    messages.success(request, "Notification rule added.")


@require_http_methods(["GET", "POST"])
def me(request: HttpRequest) -> HttpResponse:
    """How CareLine reaches me: my contact methods and rules, with forms to add and remove."""
    if (denied := require_page(request, Perm.ONCALL_RESPOND)) is not None:
        return denied
    if request.method == "POST":
        form = request.POST.get("form", "")
        if form in ("contact", "rule"):
            try:
                _add_from_form(request, form)
            except CareLineError as exc:
                context = _me_context(request, form=form, values=request.POST.dict(), error=exc)
                return render(request, "oncall/me.html", context, status=exc.status)
            return redirect("oncall:me")
    return render(request, "oncall/me.html", _me_context(request, values={}, error=None))


def _remove(request: HttpRequest, what: str, item_id: int) -> HttpResponse:
    if (denied := require_page(request, Perm.ONCALL_RESPOND)) is not None:
        return denied
    try:
        if what == "contact":
            contacts.remove_contact_method(signed_in(request), item_id)
        else:
            contacts.remove_rule(signed_in(request), item_id)
    except CareLineError as exc:
        return render(request, "core/forbidden.html", {"message": str(exc)}, status=exc.status)
    messages.success(
        request, "Contact method removed." if what == "contact" else "Notification rule removed."
    )
    return redirect("oncall:me")


@require_POST
def remove_contact(request: HttpRequest, method_id: int) -> HttpResponse:
    return _remove(request, "contact", method_id)


@require_POST
def remove_rule(request: HttpRequest, rule_id: int) -> HttpResponse:
    return _remove(request, "rule", rule_id)


def policy_list(request: HttpRequest) -> HttpResponse:
    """The escalation policies, their levels and the routes, in plain words."""
    if (denied := require_page(request, Perm.ONCALL_VIEW)) is not None:
        return denied
    actor = signed_in(request)
    shown = [
        {
            "policy": p,
            "levels": [policies.level_text(level) for level in p.levels.all()],
            "closing": policies.closing_text(p),
        }
        for p in policies.list_policies(actor)
    ]
    context = {
        "policies": shown,
        "routes": [policies.route_text(r) for r in policies.list_routes(actor)],
        "targets": [targets.describe(t) for t in targets.list_targets(actor)],
        "can_manage": has_perm(actor, Perm.ONCALL_MANAGE),
    }
    return render(request, "oncall/policies.html", context)


urlpatterns: list[URLPattern] = [
    path("oncall/me/", me, name="me"),
    path("oncall/me/contacts/<int:method_id>/remove/", remove_contact, name="me_remove_contact"),
    path("oncall/me/rules/<int:rule_id>/remove/", remove_rule, name="me_remove_rule"),
    path("oncall/policies/", policy_list, name="policies"),
]
