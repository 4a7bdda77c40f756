"""The bundle carries what attachments and maths open at run time beside their modules (the
STIX font, latex2mathml's symbol table, python-docx's templates, PDFium), and the notices name
them with their licences."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.packaging.test_packaging_files import ROOT, rules


def test_the_packages_with_run_time_files_are_collected() -> None:
    spec = (ROOT / "packaging" / "hearth.spec").read_text(encoding="utf-8")
    assert "bundle_rules.DATA_PACKAGES" in spec and "bundle_rules.LIBRARY_PACKAGES" in spec
    wanted = {
        "ziamath": "fonts/STIXTwoMath-Regular.ttf",
        "latex2mathml": "unimathsymbols.txt",
        "docx": "templates/default.docx",
        "pypdfium2_raw": "version.json",
    }
    for package, data in wanted.items():
        assert package in rules.DATA_PACKAGES
        found = importlib.util.find_spec(package)
        assert found is not None and found.origin is not None
        assert (Path(found.origin).parent / data).is_file()  # what collect_data_files copies
    assert "pypdfium2_raw" in rules.LIBRARY_PACKAGES  # libpdfium
    for module in ("ziamath", "latex2mathml", "docx", "pypdfium2", "charset_normalizer", "lxml"):
        assert module not in rules.EXCLUDED_MODULES


def test_the_notices_name_them_and_ship_the_licences() -> None:
    notices = (ROOT / "resources" / "NOTICES.md").read_text(encoding="utf-8")
    for name in ("pypdfium2", "python-docx", "charset-normalizer", "ziamath", "latex2mathml"):
        assert f"| {name}" in notices or f", {name}" in notices
    licences = ROOT / "resources" / "licenses"
    assert "licenses/PDFium-BSD-3-Clause.txt" in notices
    assert "The PDFium Authors" in (licences / "PDFium-BSD-3-Clause.txt").read_text()
    assert "licenses/STIX-Two-OFL-1.1.txt" in notices
    stix = (licences / "STIX-Two-OFL-1.1.txt").read_text()
    assert "The STIX Fonts Project Authors" in stix and "SIL OPEN FONT LICENSE" in stix
