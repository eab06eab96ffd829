"""Writes the Windows CLI archive: a zip of STAGE/BASE with fixed times and modes.

    python3 scripts/release/zip_archive.py STAGE BASE ARCHIVE EPOCH

Entries are BASE/NAME in name order, stamped EPOCH, so the same files give
the same bytes.
"""
import os
import sys
import time
import zipfile


def main(stage, base, archive, epoch):
    stamp = time.gmtime(max(int(epoch), 315532800))[:6]  # zip has no time before 1980
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name in sorted(os.listdir(os.path.join(stage, base))):
            info = zipfile.ZipInfo(f"{base}/{name}", stamp)
            info.external_attr = (0o755 if name.endswith(".exe") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(os.path.join(stage, base, name), "rb") as f:
                z.writestr(info, f.read())


if __name__ == "__main__":
    main(*sys.argv[1:5])
