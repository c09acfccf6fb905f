"""Admin import uploads between the preview and its confirmation.

django-import-export keeps the uploaded file while the user reads the preview. Its
default puts it among everything else in the system's temporary directory and leaves it
there when the preview is never confirmed: partner data, names included, at rest. Here
uploads go to a private directory of their own (CASEWORK_IMPORT_UPLOAD_DIR, mode 0700),
the confirmation form may only name a file in it, and `clear_import_uploads` deletes the
ones nobody confirmed.
"""

import os
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from import_export.tmp_storages import TempFolderStorage


def upload_dir() -> Path:
    directory = Path(settings.CASEWORK_IMPORT_UPLOAD_DIR)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


class ImportUploadStorage(TempFolderStorage):
    def get_full_path(self) -> str:
        # The name comes back from the browser in the confirmation form: a bare file name
        # in our directory, never a path elsewhere.
        if not self.name or os.path.basename(self.name) != self.name or self.name[0] == ".":
            raise SuspiciousOperation("Import upload name is not a file of the upload directory.")
        return str(upload_dir() / self.name)

    def remove(self):
        """Idempotent: the confirm step deletes the upload whatever the outcome, and the
        package deletes it again after a successful import."""
        Path(self.get_full_path()).unlink(missing_ok=True)

    def _open(self, mode="r"):
        if self.name:
            return open(self.get_full_path(), mode, encoding=self.encoding)  # noqa: SIM115
        upload = tempfile.NamedTemporaryFile(delete=False, dir=upload_dir(), suffix=".upload")  # noqa: SIM115
        self.name = os.path.basename(upload.name)
        return upload


def plan_file(upload_name: str) -> Path:
    """Where the plan of an upload's preview waits for its confirmation (the admin's confirm
    step holds the import to it): beside the upload, deleted with it."""
    ImportUploadStorage(name=upload_name).get_full_path()  # a bare name in our directory
    return upload_dir() / f"{upload_name}.plan"


def clear_uploads(older_than_seconds: float) -> int:
    """Delete uploads older than this, each with its preview's plan, and plans whose
    upload is gone; returns how many uploads."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in upload_dir().glob("*.upload"):
        try:
            if path.stat().st_mtime <= cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # confirmed (and removed) meanwhile
            continue
        if not path.exists():
            Path(f"{path}.plan").unlink(missing_ok=True)
    for plan in upload_dir().glob("*.upload.plan"):
        if not plan.with_suffix("").exists():
            plan.unlink(missing_ok=True)
    return removed
