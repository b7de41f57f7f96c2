#!/usr/bin/env python3
"""Creates buckets on the local S3 server of start.sh (idempotent). Standard library
only: moto accepts an unsigned CreateBucket, so this is the same as
`curl -fsS -X PUT http://127.0.0.1:PORT/BUCKET`.

    python3 tests/harness/s3/mkbucket.py http://127.0.0.1:PORT BUCKET [BUCKET...]

Bucket names follow S3's rules (3 to 63 characters: lower-case letters, digits, dots
and hyphens); moto refuses shorter ones with InvalidBucketName.
"""
import sys
import urllib.error
import urllib.request


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    endpoint = argv[1].rstrip("/")
    for bucket in argv[2:]:
        req = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT", data=b"")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                resp.read()
        except urllib.error.HTTPError as e:
            print(f"mkbucket.py: {bucket}: HTTP {e.code}: {e.read().decode(errors='replace')}", file=sys.stderr)
            return 1
        except OSError as e:
            print(f"mkbucket.py: {endpoint}: {e} (is start.sh's server running?)", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
