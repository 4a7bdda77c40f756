"""The one client of the Hugging Face Hub's API, shared by downloads, the catalog and the search.

It is built from huggingface_hub's own pieces, so proxies, the user agent, offline mode and the
token (``HF_TOKEN`` or ``hf auth login``) work as in every other Hub tool:

- ``HfApi(endpoint=...)``: model info (the commit, each file's size and LFS SHA-256 or git blob
  id) and the model search; it maps 401/403/404 to the library's errors;
- ``hf_hub_url`` builds ``resolve/<commit>/<file>`` URLs (pinned to a commit, so a branch moving
  mid-download cannot mix two versions);
- ``get_session()`` is the library's shared HTTP client and ``build_hf_headers`` adds the token.

Every failure leaves here as a ``DownloadError`` that says what happened and what to do.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from app.hub.backoff import Backoff, Retry

T = TypeVar("T")


class DownloadError(Exception):
    """A Hub or download problem, worded for the user: what happened and what to do about it.

    ``kind``: offline, not_found, gated, auth, disk, hash, network, unsafe, server.
    """

    def __init__(self, message: str, kind: str = "network") -> None:
        super().__init__(message)
        self.kind = kind


def _transient(status: int | None) -> bool:
    return status is not None and (status >= 500 or status in (408, 429))


class HubClient:
    """``endpoint``/``token``: default to HF_ENDPOINT / HF_TOKEN (read now, not at import)."""

    def __init__(self, endpoint: str | None = None, token: str | None = None) -> None:
        self.endpoint = (
            endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
        ).rstrip("/")
        self.token = token or os.environ.get("HF_TOKEN") or None

    # -- huggingface_hub's pieces --------------------------------------------------------------
    def api(self) -> Any:
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.endpoint, token=self.token, library_name="hearth")

    def session(self) -> Any:
        from huggingface_hub.utils import get_session

        return get_session()

    def headers(self) -> dict[str, str]:
        from huggingface_hub.utils import build_hf_headers

        return dict(build_hf_headers(token=self.token, library_name="hearth"))

    def file_url(self, repo_id: str, filename: str, commit: str) -> str:
        from huggingface_hub import hf_hub_url

        return str(hf_hub_url(repo_id, filename, revision=commit, endpoint=self.endpoint))

    # -- asking the Hub ----------------------------------------------------------------------------
    def model_info(
        self,
        repo_id: str,
        revision: str = "main",
        *,
        backoff: Backoff | None = None,
        wait: Callable[[Retry, float], bool] | None = None,
    ) -> Any:
        """The repository's commit and files with their sizes and hashes. With ``backoff``,
        transient failures are retried (``wait`` shows and sleeps each delay)."""
        return self.call(
            lambda: self.api().model_info(
                repo_id, revision=revision, files_metadata=True, timeout=30
            ),
            repo_id,
            revision=revision,
            backoff=backoff,
            wait=wait,
        )

    def search(self, query: str, limit: int) -> list[Any]:
        """GGUF repositories matching ``query``, most downloaded first."""
        return self.call(
            lambda: list(
                self.api().list_models(search=query, filter="gguf", sort="downloads", limit=limit)
            ),
            "search/search",
        )

    def call(
        self,
        fn: Callable[[], T],
        repo_id: str,
        *,
        revision: str = "main",
        files: Sequence[str] = (),
        backoff: Backoff | None = None,
        wait: Callable[[Retry, float], bool] | None = None,
    ) -> T:
        """``fn()`` with its failures explained; retried with ``backoff`` when one is given."""
        import httpx2
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

        def attempt() -> T:
            try:
                return fn()
            except OfflineModeIsEnabled as e:
                raise self.offline_error() from e
            except HfHubHTTPError as e:
                status = getattr(e.response, "status_code", None)
                if backoff is not None and _transient(status):
                    raise Retry(f"the Hub answered {status}") from e
                raise self.explain(e, repo_id, revision=revision, files=files) from e
            except (httpx2.TransportError, ConnectionError) as e:
                reason = f"cannot reach {self.endpoint} ({type(e).__name__})"
                if backoff is not None:
                    raise Retry(reason) from e
                raise DownloadError(
                    f"{reason[0].upper()}{reason[1:]}. Check your internet connection (and "
                    "HF_ENDPOINT if you use a mirror).",
                    "network",
                ) from e

        if backoff is None:
            return attempt()

        def give_up(e: Retry) -> DownloadError:
            return DownloadError(
                f"Could not look up {repo_id}: {e}. Check your internet connection (and "
                "HF_ENDPOINT if you use a mirror), then try again.",
                "network",
            )

        return backoff.run(attempt, wait=wait or (lambda _e, _d: False), give_up=give_up)

    # -- explaining ------------------------------------------------------------------------------
    def offline_error(self) -> DownloadError:
        return DownloadError(
            "Hugging Face is set to offline mode (HF_HUB_OFFLINE=1), so nothing can be "
            "downloaded. Unset HF_HUB_OFFLINE to download, or import a GGUF file you already "
            "have with `hearth models import PATH`.",
            "offline",
        )

    def explain(
        self,
        e: Exception,
        repo_id: str,
        *,
        revision: str = "main",
        files: Sequence[str] = (),
    ) -> DownloadError:
        """A Hub error as a sentence that names the problem and the way out."""
        from huggingface_hub.errors import (
            GatedRepoError,
            HfHubHTTPError,
            RemoteEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        page = f"{self.endpoint}/{repo_id}"
        status = getattr(getattr(e, "response", None), "status_code", None)
        if isinstance(e, GatedRepoError) or status == 403:
            return DownloadError(
                f"{repo_id} is gated or restricted: open {page}, accept its terms with your "
                "account, then set HF_TOKEN to a token of that account (or run `hf auth login`) "
                "and try again.",
                "gated",
            )
        if status == 401 and not isinstance(e, RepositoryNotFoundError):
            from huggingface_hub import get_token

            if self.token or get_token():
                return DownloadError(
                    f"The Hub refused the access token for {repo_id} (401). Create a new "
                    f"token at {self.endpoint}/settings/tokens and set HF_TOKEN to it.",
                    "auth",
                )
            return DownloadError(
                f"{repo_id} needs you to be logged in (401). Set HF_TOKEN to an access token "
                f"from {self.endpoint}/settings/tokens (or run `hf auth login`), then try again.",
                "auth",
            )
        if isinstance(e, RepositoryNotFoundError):
            return DownloadError(
                f"Repository {repo_id} was not found, or it is private ({status}). Check the "
                "name (OWNER/NAME); for a private repository set HF_TOKEN to a token that can "
                "read it (or run `hf auth login`).",
                "not_found",
            )
        if isinstance(e, RevisionNotFoundError):
            return DownloadError(
                f"{repo_id} has no revision '{revision}'. Use main or an existing branch, "
                "tag or commit.",
                "not_found",
            )
        if isinstance(e, RemoteEntryNotFoundError) or status == 404:
            return DownloadError(
                f"{repo_id} has no file {', '.join(files)} (404). "
                f"See the list of files at {page}/tree/{revision}.",
                "not_found",
            )
        if isinstance(e, HfHubHTTPError):
            return DownloadError(
                f"The Hub answered {status} for {repo_id}. Try again later.", "server"
            )
        return DownloadError(str(e), "network")
