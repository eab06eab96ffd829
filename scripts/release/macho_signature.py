"""Checks the ad-hoc code signature of a 64-bit Mach-O file.

    python3 scripts/release/macho_signature.py FILE

Apple silicon runs a binary only when the page hashes in its signature match
its pages; this recomputes them. Prints "N pages verified" and exits 0, exits
3 when the file has no signature, and fails with an assertion otherwise.
"""
import hashlib
import struct
import sys

LC_CODE_SIGNATURE = 0x1D
SUPERBLOB_MAGIC = 0xFADE0CC0
CODEDIRECTORY_MAGIC = 0xFADE0C02
SHA256 = 2


def main(path):
    data = open(path, "rb").read()
    magic, _, _, _, ncmds, _, _, _ = struct.unpack_from("<IiiIIIII", data, 0)
    assert magic == 0xFEEDFACF, "not a 64-bit Mach-O file"
    off, sig = 32, None
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, off)
        if cmd == LC_CODE_SIGNATURE:
            sig = struct.unpack_from("<II", data, off + 8)
        off += size
    if sig is None:
        print("no LC_CODE_SIGNATURE")
        return 3
    dataoff, datasize = sig
    blob = data[dataoff:dataoff + datasize]
    bmagic, _, count = struct.unpack_from(">III", blob, 0)
    assert bmagic == SUPERBLOB_MAGIC, "no embedded signature SuperBlob"
    checked = 0
    for i in range(count):
        btype, boff = struct.unpack_from(">II", blob, 12 + 8 * i)
        if btype != 0:  # 0 is the CodeDirectory
            continue
        (cdmagic, _, _, _, hashoff, _, _, ncode, limit,
         hsize, htype, _, pageshift) = struct.unpack_from(">IIIIIIIIIBBBB", blob, boff)
        assert cdmagic == CODEDIRECTORY_MAGIC, "bad CodeDirectory"
        assert htype == SHA256 and hsize == 32, "expected SHA-256 page hashes"
        page = 1 << pageshift
        for n in range(ncode):
            chunk = data[n * page:min((n + 1) * page, limit)]
            want = blob[boff + hashoff + n * hsize:boff + hashoff + (n + 1) * hsize]
            assert hashlib.sha256(chunk).digest() == want, f"page {n} does not match its hash"
            checked += 1
    assert checked > 0, "the CodeDirectory has no page hashes"
    print(f"{checked} pages verified")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
