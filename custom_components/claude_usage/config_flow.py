"""Config flow for Claude Usage: sign in, pick the organization, reauth, reconfigure, options."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
import os
from pathlib import Path
import shutil
from typing import Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_EMAIL, CONF_SCAN_INTERVAL
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .const import (
    BASE_URL_ENV,
    CONF_BACKEND,
    CONF_BASE_URL,
    CONF_CODE,
    CONF_ORGANIZATION,
    CONF_SESSION_EXPIRES,
    CONF_SESSION_KEY,
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    LOGGER,
    MAX_UPDATE_INTERVAL,
    MIN_UPDATE_INTERVAL,
)
from .coordinator import ClaudeUsageConfigEntry, create_runner, state_dir
from .entity import plan_name
from .models import CheckResult, LoginResult, Organization
from .runner import EmailLogin, ScraperError, ScraperRunner
from .scraper.environment import browser_problem, display_available
from .scraper.protocol import DEFAULT_BASE_URL, Backend, ErrorCode

STEP_SESSION_KEY = "session_key"
STEP_EMAIL = "email"
STEP_WINDOW = "window"

_FORM_ERRORS: dict[str, str] = {
    ErrorCode.AUTH_INVALID: "invalid_auth",
    ErrorCode.ORG_UNAVAILABLE: "invalid_auth",
    ErrorCode.NO_ORGANIZATION: "no_organization",
    ErrorCode.BLOCKED: "blocked",
    ErrorCode.RATE_LIMITED: "cannot_connect",
    ErrorCode.SERVER_ERROR: "cannot_connect",
    ErrorCode.NETWORK: "cannot_connect",
    ErrorCode.TIMEOUT: "cannot_connect",
    ErrorCode.BROWSER_UNAVAILABLE: "browser_unavailable",
    ErrorCode.LOGIN_FAILED: "login_failed",
}

SESSION_KEY_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_SESSION_KEY): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        )
    }
)
EMAIL_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_EMAIL): TextSelector(
            TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username")
        )
    }
)
CODE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_CODE): TextSelector(
            TextSelectorConfig(type=TextSelectorType.TEXT, autocomplete="one-time-code")
        )
    }
)


def _form_error(err: ScraperError) -> str:
    """Return the form error for a failed scraper run."""
    if (error := _FORM_ERRORS.get(err.code)) is None:
        LOGGER.exception("Unexpected error while signing in to Claude")
        return "unknown"
    return error


def _clean_session_key(value: str) -> str:
    """Accept the cookie as copied from the browser, with or without `sessionKey=`."""
    return value.strip().removeprefix("sessionKey=").strip().strip('"')


class ClaudeUsageConfigFlow(ConfigFlow, domain=DOMAIN):
    """Sign in to Claude and add one organization."""

    VERSION = 1

    def __init__(self) -> None:
        """Initialize the flow."""
        self._base_url = DEFAULT_BASE_URL
        self._email: str | None = None
        self._session_key: str | None = None
        self._expires_at: datetime | None = None
        self._organizations: tuple[Organization, ...] = ()
        self._login: EmailLogin | None = None
        self._window_task: asyncio.Task[LoginResult] | None = None
        self._window_error: str | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ClaudeUsageConfigEntry) -> ClaudeUsageOptionsFlow:
        """Return the options flow."""
        return ClaudeUsageOptionsFlow()

    # Entry points: each shows the same choice of how to sign in.

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Start adding an account."""
        self._base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        return await self._async_show_sign_in_menu("user")

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start signing in again after the session expired."""
        self._base_url = entry_data[CONF_BASE_URL]
        self._email = entry_data.get(CONF_EMAIL)
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask how to sign in again."""
        return await self._async_show_sign_in_menu(
            "reauth_confirm", {"title": self._get_reauth_entry().title}
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Replace the session of an existing entry."""
        entry = self._get_reconfigure_entry()
        self._base_url = entry.data[CONF_BASE_URL]
        self._email = entry.data.get(CONF_EMAIL)
        return await self._async_show_sign_in_menu("reconfigure", {"title": entry.title})

    async def _async_show_sign_in_menu(
        self, step_id: str, placeholders: dict[str, str] | None = None
    ) -> ConfigFlowResult:
        options = [STEP_SESSION_KEY]
        if await self.hass.async_add_executor_job(browser_problem) is None:
            options.append(STEP_EMAIL)
            if display_available():
                options.append(STEP_WINDOW)
        return self.async_show_menu(
            step_id=step_id, menu_options=options, description_placeholders=placeholders
        )

    # Sign-in methods.

    async def async_step_session_key(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Sign in with a session key copied from the browser."""
        errors: dict[str, str] = {}
        if user_input is not None:
            session_key = _clean_session_key(user_input[CONF_SESSION_KEY])
            self._expires_at = None  # a pasted cookie's expiry is not known
            if (error := await self._async_verify(session_key)) is None:
                return await self._async_signed_in()
            errors["base"] = error
        return self.async_show_form(
            step_id=STEP_SESSION_KEY,
            data_schema=SESSION_KEY_SCHEMA,
            errors=errors,
            description_placeholders={"url": self._base_url},
        )

    async def async_step_email(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Sign in with the one-time code that claude.ai mails."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._email = user_input[CONF_EMAIL].strip()
            await self._async_end_login()
            self._login = self._runner().email_login(self._email)
            try:
                await self._login.start()
            except ScraperError as err:
                await self._async_end_login()
                errors["base"] = _form_error(err)
            else:
                return await self.async_step_code()
        return self._async_show_email_form(errors)

    def _async_show_email_form(self, errors: dict[str, str]) -> ConfigFlowResult:
        return self.async_show_form(
            step_id=STEP_EMAIL,
            data_schema=self.add_suggested_values_to_schema(
                EMAIL_SCHEMA, {CONF_EMAIL: self._email}
            ),
            errors=errors,
        )

    async def async_step_code(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Enter the code; a wrong or late one means asking for a new code."""
        if user_input is None or self._login is None:
            return self.async_show_form(
                step_id="code",
                data_schema=CODE_SCHEMA,
                description_placeholders={"email": self._email or ""},
            )
        login, self._login = self._login, None
        try:
            result = await login.submit_code(user_input[CONF_CODE].strip())
        except ScraperError as err:
            error = _form_error(err)
            return self._async_show_email_form(
                {"base": "invalid_code" if error == "login_failed" else error}
            )
        self._expires_at = result.expires_at
        if (verify_error := await self._async_verify(result.session_key)) is not None:
            return self._async_show_email_form({"base": verify_error})
        return await self._async_signed_in()

    async def async_step_window(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Sign in by hand in a browser window on the host's display."""
        if self._window_task is None:
            if user_input is None:
                errors = {"base": self._window_error} if self._window_error else {}
                self._window_error = None
                return self.async_show_form(step_id=STEP_WINDOW, errors=errors)
            self._window_task = self.hass.async_create_task(
                self._runner().login_headed(), "claude_usage window sign-in"
            )
        if not self._window_task.done():
            return self.async_show_progress(
                step_id=STEP_WINDOW, progress_action="window", progress_task=self._window_task
            )
        return self.async_show_progress_done(next_step_id="window_done")

    async def async_step_window_done(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Verify the session that the window produced."""
        task, self._window_task = self._window_task, None
        assert task is not None
        try:
            result = task.result()
        except ScraperError as err:
            self._window_error = _form_error(err)
        else:
            self._expires_at = result.expires_at
            self._window_error = await self._async_verify(result.session_key)
            if self._window_error is None:
                return await self._async_signed_in()
        return await self.async_step_window()

    # After signing in.

    async def _async_verify(self, session_key: str) -> str | None:
        """Check a session key; return a form error, or None and remember the account."""
        try:
            check: CheckResult = await self._runner().check(session_key)
        except ScraperError as err:
            return _form_error(err)
        if not check.chat_organizations:
            return "no_organization"
        self._session_key = session_key
        self._organizations = check.chat_organizations
        self._email = check.email or self._email
        return None

    async def _async_signed_in(self) -> ConfigFlowResult:
        if self.source in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
            entry = (
                self._get_reauth_entry()
                if self.source == SOURCE_REAUTH
                else self._get_reconfigure_entry()
            )
            if entry.unique_id not in {org.uuid for org in self._organizations}:
                return self.async_abort(reason="wrong_account")
            return self.async_update_reload_and_abort(
                entry,
                data_updates={
                    CONF_SESSION_KEY: self._session_key,
                    CONF_EMAIL: self._email,
                    CONF_SESSION_EXPIRES: self._expires_iso(),
                },
            )
        if len(self._organizations) == 1:
            return await self._async_create_entry(self._organizations[0])
        return await self.async_step_organization()

    async def async_step_organization(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick one of several organizations with a Claude subscription."""
        if user_input is not None:
            chosen = next(
                org for org in self._organizations if org.uuid == user_input[CONF_ORGANIZATION]
            )
            return await self._async_create_entry(chosen)
        options = [
            SelectOptionDict(
                value=org.uuid,
                label=" - ".join(filter(None, (org.name or org.uuid, plan_name(org.plan)))),
            )
            for org in self._organizations
        ]
        return self.async_show_form(
            step_id="organization",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_ORGANIZATION): SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
                    )
                }
            ),
        )

    async def _async_create_entry(self, organization: Organization) -> ConfigFlowResult:
        await self.async_set_unique_id(organization.uuid)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(
            title=organization.name or self._email or organization.uuid,
            data={
                CONF_SESSION_KEY: self._session_key,
                CONF_ORGANIZATION: organization.uuid,
                CONF_BASE_URL: self._base_url,
                CONF_EMAIL: self._email,
                **({CONF_SESSION_EXPIRES: self._expires_iso()} if self._expires_at else {}),
            },
        )

    def _expires_iso(self) -> str | None:
        return self._expires_at.isoformat() if self._expires_at else None

    # The scraper for this flow, and cleaning up after it.

    def _state_dir(self) -> Path:
        if self.source in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
            return state_dir(self.hass, self.context["entry_id"])
        return state_dir(self.hass, f"flow_{self.flow_id}")

    def _runner(self) -> ScraperRunner:
        return create_runner(self.hass, self._base_url, self._state_dir())

    async def _async_end_login(self) -> None:
        if self._login is not None:
            login, self._login = self._login, None
            await login.close()

    @callback
    def async_remove(self) -> None:
        """End a sign-in still running when the flow finishes or is abandoned."""
        if self._window_task is not None:
            self._window_task.cancel()
        self.hass.async_create_task(self._async_clean_up(), f"{DOMAIN} sign-in clean-up")

    async def _async_clean_up(self) -> None:
        await self._async_end_login()
        if self.source not in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
            await self.hass.async_add_executor_job(shutil.rmtree, self._state_dir(), True)


class ClaudeUsageOptionsFlow(OptionsFlowWithReload):
    """How often to poll, and how to reach claude.ai."""

    config_entry: ClaudeUsageConfigEntry

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Manage the options."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        schema = vol.Schema(
            {
                vol.Required(CONF_SCAN_INTERVAL): vol.All(
                    NumberSelector(
                        NumberSelectorConfig(
                            min=MIN_UPDATE_INTERVAL,
                            max=MAX_UPDATE_INTERVAL,
                            step=1,
                            unit_of_measurement="s",
                            mode=NumberSelectorMode.BOX,
                        )
                    ),
                    vol.Coerce(int),
                ),
                vol.Required(CONF_BACKEND): SelectSelector(
                    SelectSelectorConfig(
                        options=[backend.value for backend in Backend],
                        translation_key=CONF_BACKEND,
                        mode=SelectSelectorMode.LIST,
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                schema,
                {
                    CONF_SCAN_INTERVAL: int(DEFAULT_UPDATE_INTERVAL.total_seconds()),
                    CONF_BACKEND: Backend.AUTO.value,
                    **self.config_entry.options,
                },
            ),
        )
