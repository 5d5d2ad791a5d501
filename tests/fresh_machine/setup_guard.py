#!/usr/bin/python3
"""The fresh-machine guard: everything the tests and benchmarks use comes from scripts/setup.

`scripts/setup` installs its package list with `apt-get install --no-install-recommends`.
On a fresh Debian machine that brings the listed packages, their hard dependencies
(Depends and Pre-Depends, recursively) and nothing else beyond the base system (the
Essential and Priority: required packages). A package that merely happens to be on the
developer's machine (a Recommends, a manual install) is not there on CI's clean machine.

This script computes that closure from `dpkg-query` and fails, naming what is missing, when
  - a Python module imported by a script under tests/, bench/ or python/ (or by a
    `python3 -c` snippet in a shell script there) comes from a package outside it, or is
    not installed at all;
  - an executable that the tests or benchmarks call (a command word in their shell
    scripts, a command string in the C++ tests, an absolute /usr/bin path) comes from a
    package outside it.
Run from anywhere; it finds the repository from its own path.

  setup_guard.py                              checks the repository as it is
  setup_guard.py --drop P --expect M:P        checks with package P removed from the list and
                                              succeeds only if the report names module or
                                              executable M and package P (the guard's own test)
"""
import argparse
import ast
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCANNED = ("tests", "bench", "python", "examples", "fuzz")
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # commands as a fresh machine finds them


def setup_packages(path):
    """The names in scripts/setup's `packages=( ... )` list, comments removed."""
    text = open(path).read()
    match = re.search(r"^packages=\((.*?)^\)", text, re.S | re.M)
    if not match:
        sys.exit(f"setup_guard: no packages=( ... ) list in {path}")
    names = []
    for line in match.group(1).splitlines():
        names += line.split("#")[0].split()
    return names


def installed_packages():
    """Every installed package: name -> (depends, pre_depends, essential, priority, provides)."""
    fields = "${Package}\t${Status}\t${Depends}\t${Pre-Depends}\t${Essential}\t${Priority}\t${Provides}\n"
    out = subprocess.run(["dpkg-query", "-W", "-f=" + fields], capture_output=True, text=True, check=True).stdout
    packages = {}
    for line in out.splitlines():
        name, status, depends, pre_depends, essential, priority, provides = line.split("\t")
        if status.endswith(" installed"):
            packages[name] = (depends, pre_depends, essential == "yes", priority, provides)
    return packages


def alternatives(field):
    """'a (>= 1) | b, c:any' -> [['a', 'b'], ['c']]"""
    groups = []
    for group in field.split(","):
        names = [alt.strip().split()[0].split(":")[0] for alt in group.split("|") if alt.strip()]
        if names:
            groups.append(names)
    return groups


def install_closure(listed, packages):
    """What `apt-get install --no-install-recommends LISTED` leaves on a base Debian system.

    For `a | b` apt installs the first alternative unless one is already present; here the
    first alternative that is installed (a virtual name counts through its providers)."""
    providers = {}
    for name, (_, _, _, _, provides) in packages.items():
        for group in alternatives(provides):
            providers.setdefault(group[0], []).append(name)
    base = [name for name, (_, _, essential, priority, _) in packages.items() if essential or priority == "required"]
    closure, todo = set(), list(listed) + base
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        if name not in packages:
            continue
        depends, pre_depends, _, _, _ = packages[name]
        for group in alternatives(depends) + alternatives(pre_depends):
            for alt in group:
                real = [alt] if alt in packages else providers.get(alt, [])
                if real:
                    todo += real[:1]
                    break
    return closure


def file_owners():
    """Every path dpkg knows -> the packages that ship it, from dpkg's file lists (one read;
    `dpkg -S` per path is slow and matches substrings)."""
    owners = {}
    for listing in glob.glob("/var/lib/dpkg/info/*.list"):
        package = os.path.basename(listing)[: -len(".list")].split(":")[0]
        with open(listing, errors="replace") as f:
            for line in f:
                owners.setdefault(line.rstrip("\n"), []).append(package)
    return owners


def owner(path, owners):
    """The Debian packages that ship `path` (trying the /bin <-> /usr/bin aliases), or []."""
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):
        if p.startswith(("/usr/bin/", "/usr/sbin/", "/usr/lib/")):
            candidates.append(p[len("/usr"):])
    for p in candidates:
        if p in owners:
            return sorted(set(owners[p]))
    return []


def scanned_files(patterns):
    files = []
    for folder in SCANNED:
        for pattern in patterns:
            files += glob.glob(os.path.join(ROOT, folder, "**", pattern), recursive=True)
    return sorted(set(files))


def shell_scripts():
    """Files under the scanned folders that are shell scripts: *.sh and files with a shell #!."""
    scripts = []
    for path in scanned_files(["*"]):
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            head = f.readline()
        if path.endswith(".sh") or re.match(rb"#!.*\b(ba)?sh\b", head):
            scripts.append(path)
    return scripts


def python_imports():
    """module name -> the first file that imports it (absolute imports only)."""
    imports = {}
    for path in scanned_files(["*.py"]):
        tree = ast.parse(open(path).read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    imports.setdefault(alias.name, path)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imports.setdefault(node.module, path)
    # python3 -c "import x; ..." snippets in shell scripts and C++ tests
    for path in shell_scripts() + scanned_files(["*.cpp", "*.h"]):
        for snippet in re.findall(r"python3?\s+-c\s+(['\"])(.*?)\1", open(path, errors="replace").read()):
            for name in re.findall(r"(?:^|[;\s])(?:import|from)\s+([A-Za-z_][\w.]*)", snippet[1]):
                imports.setdefault(name, path)
    return imports


def local_modules():
    return {os.path.splitext(os.path.basename(p))[0] for p in scanned_files(["*.py"])}


def module_problems(closure, owners):
    problems = []
    local = local_modules()
    for module, user in sorted(python_imports().items()):
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in local:
            continue
        where = os.path.relpath(user, ROOT)
        try:
            spec = importlib.util.find_spec(module)
        except Exception:  # a parent package that fails to import
            spec = None
        if spec is None:
            guess = "python3-" + top.lower()
            known = subprocess.run(["apt-cache", "show", guess], capture_output=True).returncode == 0
            hint = f"Debian package {guess} by its name" if known else "its Debian package"
            problems.append(f"Python module '{module}' (imported by {where}) is not installed; add {hint} to scripts/setup")
            continue
        if spec.origin in (None, "built-in", "frozen"):
            locations = list(spec.submodule_search_locations or [])
            if not locations:
                continue
            path = locations[0]
        else:
            path = spec.origin
        if os.path.basename(path) == "__init__.py":
            path = os.path.dirname(path)
        packages = owner(path, owners)
        if not packages:
            problems.append(f"Python module '{module}' (imported by {where}) comes from {path}, which no Debian package ships")
        elif not set(packages) & closure:
            problems.append(f"Python module '{module}' (imported by {where}) comes from Debian package "
                            f"{'/'.join(packages)}, which scripts/setup does not install")
    return problems


SHELL_WORDS = {"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
               "in", "function", "select", "time", "!", "{", "}", "[[", "]]"}


def shell_commands(line):
    """The words in command position on one shell line: its start and after | && || ; $( ` and
    command prefixes (env VAR=x, exec, timeout N, nice, command)."""
    line = re.sub(r"(^|\s)#.*", "", line)
    line = re.sub(r"'[^']*'", "''", line)  # single quotes hold no commands (python3 -c '...' code)
    words = []
    for part in re.split(r"\|\||&&|[|;`]|\$\(|\(", line):
        tokens = part.split()
        while tokens:
            word = tokens.pop(0)
            if word in SHELL_WORDS or re.match(r"^[A-Za-z_]\w*=", word) or word.startswith("-"):
                continue
            if word in ("env", "exec", "nice", "command", "timeout", "sudo"):
                if word == "timeout" and tokens and re.match(r"^[\d.]+[smh]?$", tokens[0]):
                    tokens.pop(0)
                continue
            words.append(word)
            break
    return words


def called_executables():
    """executable word -> the first file that calls it."""
    calls = {}
    for path in shell_scripts():
        text = open(path, errors="replace").read()
        for line in text.splitlines():
            for word in shell_commands(line):
                calls.setdefault(word, path)
    # C++ tests: string literals shaped like a command line (they hold a shell operator),
    # and, in a file that looks programs up with `command -v`, the bare names it looks up.
    for path in scanned_files(["*.cpp", "*.h"]):
        text = open(path, errors="replace").read()
        looks_up = "command -v" in text
        for literal in re.findall(r'"((?:[^"\\\n]|\\.)*)"', text):
            if re.search(r"&&|\||;|>|\$\(|^\(exec ", literal):
                words = shell_commands(literal)
            elif looks_up and re.match(r"^[\w.+-]+$", literal):
                words = [literal]
            else:
                continue
            for word in words:
                calls.setdefault(word, path)
    for path in scanned_files(["*"]):
        if os.path.isfile(path):
            for word in re.findall(r"(?<![\w./-])(/usr/s?bin/[\w.+-]+)", open(path, errors="replace").read()):
                calls.setdefault(word, path)
    return calls


def executable_problems(closure, owners):
    problems = []
    for word, user in sorted(called_executables().items()):
        if not re.match(r"^[\w.+-]+$|^/[\w./+-]+$", word):
            continue  # a relative path runs a file of the repository
        path = word if word.startswith("/") else shutil.which(word, path=SYSTEM_PATH)
        if not path or not os.path.isfile(path):
            continue  # not a program here: a word in a string, a shell builtin, a function
        packages = owner(path, owners)
        where = os.path.relpath(user, ROOT)
        if packages and not set(packages) & closure:
            problems.append(f"executable '{word}' (called by {where}) comes from Debian package "
                            f"{'/'.join(packages)}, which scripts/setup does not install")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", default=os.path.join(ROOT, "scripts", "setup"))
    parser.add_argument("--drop", action="append", default=[], help="check as if this package were not listed")
    parser.add_argument("--expect", help="NAME:PACKAGE: succeed only if a problem names both")
    args = parser.parse_args()

    listed = [p for p in setup_packages(args.setup) if p not in args.drop]
    packages = installed_packages()
    not_installed = [p for p in listed if p not in packages]
    if not_installed:
        sys.exit(f"setup_guard: scripts/setup lists packages that are not installed here: {' '.join(not_installed)} "
                 "(run scripts/setup first)")
    closure = install_closure(listed, packages)
    owners = file_owners()
    problems = module_problems(closure, owners) + executable_problems(closure, owners)

    if args.expect:
        name, package = args.expect.split(":")
        hits = [p for p in problems if f"'{name}'" in p and package in p]
        print("\n".join(problems) or "no problems")
        if not hits:
            sys.exit(f"setup_guard: without {' '.join(args.drop)} the guard did not report {name} from {package}")
        print(f"setup_guard: without {' '.join(args.drop)} the guard reports {name} from {package}, as it should")
        return
    if problems:
        print("A fresh machine would lack what these need (scripts/setup installs with --no-install-recommends):")
        print("\n".join("  " + p for p in problems))
        sys.exit(1)
    print(f"setup_guard: {len(python_imports())} imports and {len(called_executables())} command words checked; "
          f"all come from the {len(closure)} packages scripts/setup brings")


if __name__ == "__main__":
    main()
