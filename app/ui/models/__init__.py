"""The Model Manager's Qt side: the dialog, the first-run panel and their item models.

Entry points for the main window:
- ``open_model_manager(parent, settings) -> LoadOptions | None`` (modal), or
  ``ModelManagerDialog(parent, settings)`` with its ``modelChosen(LoadOptions)`` signal (non-modal);
- ``FirstRunWidget(parent)`` with ``modelChosen(LoadOptions)``.
"""

from app.ui.models.common import shared_manager
from app.ui.models.dialog import ModelManagerDialog, open_model_manager
from app.ui.models.firstrun import FirstRunWidget

__all__ = ["FirstRunWidget", "ModelManagerDialog", "open_model_manager", "shared_manager"]
