"""The ceiling of DESIGN §8's signing bar: Flask and WTForms alone.

A Flask view that binds and validates a form of the signing form's fields
(the same WTForms field types and length rules, no CSRF token check, no
e-mail syntax check), then has `bench_web.bare_app` insert its row.
What separates Signatory from this is the work of its own: the limiter, the
e-mail address and the ten-line rule, the sort key, the outbox row, the
thanks link. Served by gunicorn from this folder (`floor_app:app`).
"""
from __future__ import annotations

import os

from io import BytesIO

from flask import Flask, redirect, request
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from bench_web import bare_app

app = Flask(__name__)
app.config.update(SECRET_KEY=os.environ.get("SECRET_KEY", "floor"), WTF_CSRF_ENABLED=False)


class SignForm(FlaskForm):
    first_name = StringField("Voornaam", validators=[DataRequired(), Length(max=100)])
    last_name = StringField("Familienaam", validators=[DataRequired(), Length(max=100)])
    function = StringField("Functie", validators=[Optional(), Length(max=100)])
    address = TextAreaField("Postadres", validators=[Optional(), Length(max=500)])
    place = StringField("Gemeente", validators=[Optional(), Length(max=100)])
    paragraph = TextAreaField("Motiverende paragraaf", validators=[Optional(), Length(max=2000)])
    consent_name = BooleanField("Naam")
    consent_paragraph = BooleanField("Paragraaf")
    consent_notify = BooleanField("Verwittig me")
    kind = RadioField("Ik teken", choices=[("person", "in eigen naam"), ("organisation", "namens")],
                      default="person", validators=[DataRequired()])
    organisation = StringField("Organisatie", validators=[Optional(), Length(max=200)])
    email = EmailField("E-mailadres", validators=[DataRequired(), Length(max=254)])
    website = StringField("Laat dit veld leeg", validators=[Optional()])
    csrf_token = StringField("Formuliertoken")


@app.post("/letters/<slug>/sign")
def sign(slug: str):
    body = request.get_data(cache=True, parse_form_data=False)  # kept for the insert below
    form = SignForm()
    if not form.validate():
        return "invalid", 422
    # The bare app's own insert, on the same body: it parses the form once
    # more, so this ceiling errs low by one parse_qs.
    bare_app({**request.environ, "wsgi.input": BytesIO(body)}, lambda status, headers: None)
    return redirect(f"/letters/{slug}/thanks", 303)


@app.get("/")
def home():
    return "ok"
