"""The storage API in FastAPI, on local disk: the reference Ferry's service is benchmarked against.

Written for the benchmark (bench/parts/service.ts) to stand for the Python service Ferry replaces. It
keeps the same contract where it costs time: HS256 JWT with the same claims (iss, aud, exp, scope),
ids validated by the same pattern, the same on-disk layout with meta.json, sha256 of every upload,
fsync + rename so an upload is all-or-nothing, per-user usage cached 30 s, declared response models.
It is idiomatic FastAPI (Debian 12: FastAPI 0.92, Starlette 0.26, uvicorn 0.17 on h11), not tuned.

Environment: AUTH_SECRET, STORAGE_DIR, USER_QUOTA_BYTES (0 = none), MAX_UPLOAD_BYTES.
Run with bench/fastapi/serve.py.
"""

import hashlib
import json
import os
import re
import secrets
import time
import uuid
from datetime import datetime, timezone
from typing import List, Optional

from fastapi import Depends, FastAPI, File, Header, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

SECRET = os.environ["AUTH_SECRET"]
ROOT = os.path.abspath(os.environ.get("STORAGE_DIR", "./data"))
QUOTA = int(os.environ.get("USER_QUOTA_BYTES", str(1 << 30)))
MAX_UPLOAD = int(os.environ.get("MAX_UPLOAD_BYTES", str(100 << 20)))
USAGE_CACHE_SECONDS = 30

FILE_ID_PATTERN = r"^[ivadro][0-7][0-9a-hjkmnp-tv-z]{25}$"
USER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FILE_ID_RE = re.compile(FILE_ID_PATTERN)
BEARER_RE = re.compile(r"^Bearer\s+(\S+)$", re.IGNORECASE)
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
CATEGORIES = ["images", "videos", "audio", "documents", "archives", "other"]
CODES = {"images": "i", "videos": "v", "audio": "a", "documents": "d", "archives": "r", "other": "o"}
BY_CODE = {v: k for k, v in CODES.items()}
EXTENSIONS = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
    ".mp4": "video/mp4", ".mov": "video/quicktime", ".mp3": "audio/mpeg", ".wav": "audio/wav",
    ".pdf": "application/pdf", ".txt": "text/plain", ".json": "application/json",
    ".zip": "application/zip", ".gz": "application/gzip", ".tar": "application/x-tar",
}
GENERIC = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}

try:
    import jwt  # python3-jwt (PyJWT)

    def verify_token(token: str) -> dict:
        try:
            return jwt.decode(
                token, SECRET, algorithms=["HS256"], audience="ferry-storage", issuer="ferry",
                options={"require": ["sub", "exp"]}, leeway=5,
            )
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "unauthorized", "token expired")
        except jwt.PyJWTError:
            raise ApiError(401, "unauthorized", "invalid token")

except ImportError:  # no PyJWT: the same checks by hand (HS256 only)
    import base64
    import hmac

    def _b64(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    def verify_token(token: str) -> dict:
        try:
            head, body, sig = token.split(".")
            if json.loads(_b64(head)).get("alg") != "HS256":
                raise ValueError("alg")
            want = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(want, _b64(sig)):
                raise ValueError("signature")
            claims = json.loads(_b64(body))
        except (ValueError, TypeError):
            raise ApiError(401, "unauthorized", "invalid token")
        if not isinstance(claims.get("exp"), (int, float)) or "sub" not in claims:
            raise ApiError(401, "unauthorized", "invalid token")
        if claims["exp"] + 5 < time.time():
            raise ApiError(401, "unauthorized", "token expired")
        aud = claims.get("aud")
        if claims.get("iss") != "ferry" or "ferry-storage" not in (aud if isinstance(aud, list) else [aud]):
            raise ApiError(401, "unauthorized", "invalid token")
        return claims


FILES_DIR = os.path.join(ROOT, "files")
TMP_DIR = os.path.join(ROOT, "tmp")
os.makedirs(FILES_DIR, exist_ok=True)
os.makedirs(TMP_DIR, exist_ok=True)

app = FastAPI(title="storage (FastAPI reference)", docs_url=None, redoc_url=None)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message


@app.exception_handler(ApiError)
async def api_error(_request: Request, err: ApiError):
    return JSONResponse({"error": {"code": err.code, "message": err.message}}, status_code=err.status)


class FileBody(BaseModel):
    id: str
    name: str
    size: int
    contentType: str
    category: str
    sha256: str
    createdAt: str


class FileList(BaseModel):
    items: List[FileBody]
    nextCursor: Optional[str]


# --- auth -------------------------------------------------------------------------------------

def require(scope: str):
    async def principal(authorization: Optional[str] = Header(default=None)) -> str:
        m = BEARER_RE.match(authorization or "")
        if not m:
            raise ApiError(401, "unauthorized", "missing bearer token (Authorization: Bearer <token>)")
        claims = verify_token(m.group(1))
        user = claims.get("sub", "")
        if not USER_ID_RE.match(user):
            raise ApiError(401, "unauthorized", "invalid token subject")
        scopes = set(str(claims.get("scope", "")).split(" "))
        if scope not in scopes and "admin" not in scopes:
            raise ApiError(403, "forbidden", f'token lacks the "{scope}" scope')
        return user

    return principal


# --- ids, keys, categories ------------------------------------------------------------------

def new_file_id(category: str, now_ms: int) -> str:
    t, time_part = now_ms, ""
    for _ in range(10):
        time_part = ALPHABET[t % 32] + time_part
        t //= 32
    rand = int.from_bytes(secrets.token_bytes(10), "big")
    rand_part = "".join(ALPHABET[(rand >> (75 - 5 * i)) & 31] for i in range(16))
    return CODES[category] + time_part + rand_part


def file_dir(user: str, file_id: str) -> str:
    ms = 0
    for ch in file_id[1:11]:
        ms = ms * 32 + ALPHABET.index(ch)
    d = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return os.path.join(FILES_DIR, user, BY_CODE[file_id[0]], f"{d.year:04d}", f"{d.month:02d}", file_id)


def content_type_of(declared: Optional[str], name: str) -> str:
    base = (declared or "").split(";")[0].strip().lower()
    if base not in GENERIC and "/" in base:
        return base
    return EXTENSIONS.get(os.path.splitext(name)[1].lower(), "application/octet-stream")


def category_of(content_type: str) -> str:
    kind = content_type.split("/")[0]
    if kind == "image":
        return "images"
    if kind == "video":
        return "videos"
    if kind == "audio":
        return "audio"
    if kind == "text" or content_type in ("application/pdf", "application/json"):
        return "documents"
    if content_type in ("application/zip", "application/gzip", "application/x-tar"):
        return "archives"
    return "other"


def read_meta(user: str, file_id: str) -> Optional[dict]:
    try:
        with open(os.path.join(file_dir(user, file_id), "meta.json"), "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return None


def body_of(meta: dict) -> dict:
    return {k: meta[k] for k in ("id", "name", "size", "contentType", "category", "sha256", "createdAt")}


def list_user(user: str) -> list:
    """(id, size) of every file of the user, from the folder tree."""
    out = []
    base = os.path.join(FILES_DIR, user)
    for category in CATEGORIES:
        cdir = os.path.join(base, category)
        if not os.path.isdir(cdir):
            continue
        for yyyy in os.listdir(cdir):
            for mm in os.listdir(os.path.join(cdir, yyyy)):
                mdir = os.path.join(cdir, yyyy, mm)
                for file_id in os.listdir(mdir):
                    if FILE_ID_RE.match(file_id):
                        try:
                            out.append((file_id, os.stat(os.path.join(mdir, file_id, "content")).st_size))
                        except FileNotFoundError:
                            pass
    return out


_usage: dict = {}


def usage_bytes(user: str) -> int:
    hit = _usage.get(user)
    if hit and time.monotonic() - hit[1] < USAGE_CACHE_SECONDS:
        return hit[0]
    total = sum(size for _, size in list_user(user))
    _usage[user] = (total, time.monotonic())
    return total


def add_usage(user: str, delta: int) -> None:
    hit = _usage.get(user)
    if hit:
        _usage[user] = (hit[0] + delta, hit[1])


# --- routes ----------------------------------------------------------------------------------

@app.get("/healthz")
async def healthz():
    return {"status": "ok"}


def store(user: str, src, name: str, content_type: str) -> dict:
    """Copies the spooled upload into tmp/, fsyncs, then renames the folder into place."""
    work = os.path.join(TMP_DIR, f"py.{os.getpid()}.{uuid.uuid4()}")
    os.mkdir(work)
    try:
        digest, size = hashlib.sha256(), 0
        with open(os.path.join(work, "content"), "xb") as out:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_UPLOAD:
                    raise ApiError(413, "too_large", f"files are limited to {MAX_UPLOAD} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        now = datetime.now(timezone.utc)
        category = category_of(content_type)
        file_id = new_file_id(category, int(now.timestamp() * 1000))
        meta = {
            "id": file_id, "userId": user, "name": name, "size": size, "contentType": content_type,
            "category": category, "sha256": digest.hexdigest(),
            "createdAt": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        with open(os.path.join(work, "meta.json"), "x") as out:
            out.write(json.dumps(meta))
            out.flush()
            os.fsync(out.fileno())
        target = file_dir(user, file_id)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.rename(work, target)
        fd = os.open(os.path.dirname(target), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return meta
    except BaseException:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        raise


@app.post("/v1/files", status_code=201, response_model=FileBody)
async def upload(file: UploadFile = File(...), user: str = Depends(require("write"))):
    name = file.filename or ""
    if not name.strip() or "/" in name or "\\" in name or len(name.encode()) > 255:
        raise ApiError(400, "invalid_name", "invalid file name")
    if QUOTA > 0 and usage_bytes(user) > QUOTA:
        raise ApiError(413, "quota_exceeded", "quota exceeded")
    meta = await run_in_threadpool(store, user, file.file, name, content_type_of(file.content_type, name))
    add_usage(user, meta["size"])
    return body_of(meta)


@app.get("/v1/files", response_model=FileList)
async def list_files(
    limit: int = Query(50, ge=1, le=100),
    cursor: Optional[str] = Query(None, regex=FILE_ID_PATTERN),
    category: Optional[str] = Query(None),
    user: str = Depends(require("read")),
):
    listing = list_user(user)
    _usage[user] = (sum(size for _, size in listing), time.monotonic())
    ids = sorted(
        (i for i, _ in listing
         if (category is None or BY_CODE[i[0]] == category) and (cursor is None or i[1:] < cursor[1:])),
        key=lambda i: i[1:],
        reverse=True,
    )
    page = ids[:limit]
    items = [body_of(m) for m in (read_meta(user, i) for i in page) if m is not None]
    return {"items": items, "nextCursor": page[-1] if len(ids) > limit else None}


@app.get("/v1/files/{file_id}", response_model=FileBody)
async def metadata(file_id: str = Path(regex=FILE_ID_PATTERN), user: str = Depends(require("read"))):
    meta = read_meta(user, file_id)
    if meta is None:
        raise ApiError(404, "not_found", "no such file")
    return body_of(meta)


@app.get("/v1/files/{file_id}/content")
async def content(file_id: str = Path(regex=FILE_ID_PATTERN), user: str = Depends(require("read"))):
    meta = read_meta(user, file_id)
    if meta is None:
        raise ApiError(404, "not_found", "no such file")
    ascii_name = meta["name"].encode("ascii", "replace").decode().replace('"', "_")
    return FileResponse(
        os.path.join(file_dir(user, file_id), "content"),
        media_type=meta["contentType"],
        headers={
            "etag": f'"{meta["sha256"]}"',
            "content-disposition": f'attachment; filename="{ascii_name}"',
            "cache-control": "private, no-cache",
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; sandbox",
        },
    )


@app.delete("/v1/files/{file_id}", status_code=204)
async def delete(file_id: str = Path(regex=FILE_ID_PATTERN), user: str = Depends(require("write"))):
    meta = read_meta(user, file_id)
    if meta is None:
        raise ApiError(404, "not_found", "no such file")
    import shutil

    trash = os.path.join(TMP_DIR, f"py.{os.getpid()}.{uuid.uuid4()}")
    os.rename(file_dir(user, file_id), trash)
    shutil.rmtree(trash, ignore_errors=True)
    add_usage(user, -meta["size"])
