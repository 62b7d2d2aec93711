#!/usr/bin/env python3
"""Validates an SBOM with the official validators (run with .tools/venv/bin/python).

    validate_sbom.py spdx FILE       SPDX 2.3 JSON, spdx-tools' validator
    validate_sbom.py cyclonedx FILE  CycloneDX 1.5 JSON, the official (strict) schema
                                     via cyclonedx-python-lib, then bom-ref uniqueness and
                                     dependency-ref integrity (which no schema can check)

Prints every problem found and exits 0 if the document is valid, 1 if not,
2 on a usage error (bad arguments, unreadable file, validator not installed).
scripts/install-tools.sh sets up the venv with pinned versions of both libraries.
"""

import json
import sys

USAGE = "usage: validate_sbom.py {spdx|cyclonedx} FILE"
SPDX_VERSION = "SPDX-2.3"


def usage(msg=None):
    if msg:
        print(f"validate_sbom: {msg}", file=sys.stderr)
    print(USAGE, file=sys.stderr)
    sys.exit(2)


def validate_spdx(path):
    try:
        from spdx_tools.spdx.parser.error import SPDXParsingError
        from spdx_tools.spdx.parser.json import json_parser
        from spdx_tools.spdx.parser.parse_anything import parse_file
        from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
    except ImportError as e:
        usage(f"spdx-tools is not installed ({e}); run scripts/install-tools.sh")

    try:
        with open(path, encoding="utf-8") as f:
            top = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        print(f"spdx: not JSON: {e}")
        return 1
    if not isinstance(top, dict):
        print(f"spdx: the document is a JSON {type(top).__name__}, not an object")
        return 1
    try:
        # parse_file picks the parser from the file name; the format is SPDX
        # JSON whatever the name (".spdx" would mean tag-value to it).
        if path.endswith(".json"):
            document = parse_file(path)
        else:
            document = json_parser.parse_from_file(path)
    except SPDXParsingError as e:
        for msg in e.get_messages():
            print(f"spdx: parse error: {msg}")
        return 1
    except Exception as e:  # the parser trips on some wrongly typed fields
        print(f"spdx: parse error: {type(e).__name__}: {e}")
        return 1

    version = document.creation_info.spdx_version
    # Passing SPDX-2.3 makes a 2.2 document fail too, with the validator's message.
    messages = validate_full_spdx_document(document, SPDX_VERSION)
    for m in messages:
        ctx = m.context
        where = ""
        if ctx is not None:
            kind = ctx.element_type.name if ctx.element_type is not None else "?"
            where = f" [{kind} {ctx.spdx_id or ctx.parent_id or '-'}]"
        print(f"spdx: invalid{where}: {m.validation_message}")
    if messages:
        print(f"spdx: {path}: INVALID ({len(messages)} messages)")
        return 1
    print(f"spdx: {path}: valid {version} ({len(document.packages)} packages, "
          f"{len(document.relationships)} relationships)")
    return 0


def validate_cyclonedx(path):
    try:
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
    except ImportError as e:
        usage(f"cyclonedx-python-lib is not installed ({e}); run scripts/install-tools.sh")

    with open(path, encoding="utf-8") as f:
        data = f.read()
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as e:
        print(f"cyclonedx: not JSON: {e}")
        return 1

    # The 1.5 schema allows specVersion "1.0"…"1.5" alike; demand the one meant.
    errors = []
    if not isinstance(doc, dict) or doc.get("specVersion") != "1.5":
        got = doc.get("specVersion") if isinstance(doc, dict) else type(doc).__name__
        errors.append(f'specVersion must be "1.5", got {got!r}')

    # Raises MissingOptionalDependencyException without the json-validation extra.
    validator = JsonStrictValidator(SchemaVersion.V1_5)
    found = validator.validate_str(data, all_errors=True)
    for e in found or ():
        err = e.data  # jsonschema.ValidationError
        where = "/" + "/".join(str(p) for p in err.absolute_path)
        errors.append(f"at {where}: {err.message}")
    if not errors:
        errors.extend(check_refs(doc))
    for e in errors:
        print(f"cyclonedx: invalid: {e}")
    if errors:
        print(f"cyclonedx: {path}: INVALID ({len(errors)} errors)")
        return 1
    print(f"cyclonedx: {path}: valid CycloneDX 1.5 "
          f"({len(doc.get('components', []))} components, {len(doc.get('dependencies', []))} dependencies)")
    return 0


def check_refs(doc):
    """What the JSON schema cannot say but the spec does: every bom-ref is
    unique, and every dependencies[].ref / dependsOn names one of them."""
    errors, refs = [], {}

    def walk(node, where):
        if isinstance(node, dict):
            ref = node.get("bom-ref")
            if isinstance(ref, str) and where.rsplit("/", 1)[0].endswith(("components", "services", "/metadata")):
                if ref in refs:
                    errors.append(f"at {where}: bom-ref {ref!r} already used at {refs[ref]}")
                else:
                    refs[ref] = where
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    walk(doc.get("metadata", {}), "/metadata")
    walk(doc.get("components", []), "/components")
    walk(doc.get("services", []), "/services")
    for i, dep in enumerate(doc.get("dependencies", [])):
        for j, ref in enumerate([dep.get("ref")] + list(dep.get("dependsOn", []))):
            if ref not in refs:
                where = f"/dependencies/{i}/" + ("ref" if j == 0 else f"dependsOn/{j - 1}")
                errors.append(f"at {where}: {ref!r} is not the bom-ref of any component (ref integrity, beyond the schema)")
    return errors


def main(argv):
    if len(argv) != 3 or argv[1] not in ("spdx", "cyclonedx"):
        usage()
    kind, path = argv[1], argv[2]
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        usage(f"cannot read {path}: {e.strerror}")
    return validate_spdx(path) if kind == "spdx" else validate_cyclonedx(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
