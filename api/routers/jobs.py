"""Background jobs: the status and the result of an expensive request made with ``?async=true``.

A job belongs to the API key that submitted it: a caller without a key gets 401, any other key
404 (as if the job did not exist).  Reading the result of a job of a restricted, audited route (a patrol plan) is audited like
the synchronous route.  See :mod:`api.jobs`.
"""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from qauipsiz.api.auth import Principal, audit, principal
from qauipsiz.api.errors import PROBLEM, ApiError, Problem, problem_response
from qauipsiz.api.jobs import jobs_of, status_view

router = APIRouter(tags=["jobs"])

AUDITED = {"patrol": "patrol.read", "incidents:read": "incidents.read"}
"""A job's permission -> the audit action of reading its result."""


class JobStatus(BaseModel):
    """What ``GET /jobs/{id}`` (and the ``202`` of an asynchronous request) shows."""

    id: str = Field(description="job id (the status URL is `/api/v1/jobs/{id}`)")
    kind: str = Field(description="what is computed, e.g. `patrol-plan`")
    status: Literal["queued", "running", "done", "failed"]
    created: str = Field(description="UTC, ISO 8601")
    started: str | None = Field(default=None, description="UTC, ISO 8601; null while queued")
    finished: str | None = Field(default=None, description="UTC, ISO 8601; null until done or failed")
    media_type: str = Field(description="media type of the result")
    href: str = Field(description="this status URL")
    result: str | None = Field(default=None, description="URL of the result once done or failed")
    problem: Problem | None = Field(default=None, description="why the job failed (problem+json body)")


async def keyed(p: Principal = Depends(principal)) -> Principal:
    """Jobs belong to API keys: without one, 401."""
    if p.key_id is None:
        raise ApiError(401, "jobs belong to the API key that submitted them; send it", slug="unauthorized",
                       headers={"WWW-Authenticate": 'Bearer realm="qauipsiz"'})
    return p


JobId = Annotated[str, Path(min_length=1, max_length=64, description="job id from the 202's `Location`")]

ACCEPTED = {202: {"model": JobStatus, "description": "Accepted: computed as a background job "
                                                      "(`?async=true` or `Prefer: respond-async`); poll `Location`",
                  "links": {"GetJob": {"operationId": "get_job", "parameters": {"job_id": "$response.body#/id"},
                                       "description": "the job's status"},
                            "GetJobResult": {"operationId": "get_job_result",
                                             "parameters": {"job_id": "$response.body#/id"},
                                             "description": "the job's result once done"}}},
            429: {"model": Problem, "content": {PROBLEM: {}},
                  "description": "too many expensive requests in progress; retry after `Retry-After` s"}}
"""``responses=`` entry of a route that runs in the job pool (202 when asynchronous, 429 when the pool is full)."""


@router.get("/jobs/{job_id}", response_model=JobStatus, operation_id="get_job",
            summary="Status of a background job (its owner only)",
            responses={404: {"model": Problem, "content": {PROBLEM: {}},
                             "description": "no such job of this caller (or expired)"}})
async def get_job(request: Request, response: Response, job_id: JobId,
                  p: Principal = Depends(keyed)) -> JobStatus:
    rec = await run_in_threadpool(jobs_of(request).get, job_id, p)
    response.headers["Cache-Control"] = "private, no-store"
    if rec["status"] in ("queued", "running"):
        response.headers["Retry-After"] = "1"
    return JobStatus(**status_view(rec))


@router.get("/jobs/{job_id}/result", operation_id="get_job_result",
            summary="Result of a finished background job: the synchronous route's body (its owner only)",
            responses={200: {"content": {"application/geo+json": {}, "text/html": {}},
                             "description": "the same bytes the synchronous request returns"},
                       409: {"model": Problem, "content": {PROBLEM: {}},
                             "description": "the job has not finished yet (`job-not-finished`, retry after "
                                            "`Retry-After` s) or it failed (`job-failed`; the route's own "
                                            "problem document in `job_problem` and in the status)"},
                       404: {"model": Problem, "content": {PROBLEM: {}},
                             "description": "no such job of this caller (or expired)"}})
async def get_job_result(request: Request, job_id: JobId, p: Principal = Depends(keyed)):
    jobs = jobs_of(request)
    rec = await run_in_threadpool(jobs.get, job_id, p)
    if rec["status"] in ("queued", "running"):
        return problem_response(409, f"job {job_id} is {rec['status']}", instance=request.url.path,
                                slug="job-not-finished", headers={"Retry-After": "1"})
    if rec["status"] == "failed":
        # 409: this request is fine, the job it names failed; the route's own problem (its status,
        # type and detail) is in the job's status document and repeated here as `job_problem`
        pr = rec.get("problem") or {}
        resp = problem_response(409, f"job {job_id} failed with {pr.get('status')}: {pr.get('detail')}",
                                instance=request.url.path, slug="job-failed")
        import json

        body = json.loads(resp.body)
        body["job_problem"] = pr
        return JSONResponse(body, status_code=409, media_type=PROBLEM)
    action = AUDITED.get(rec["permission"])
    if action:
        await run_in_threadpool(audit, request, p, action, {"job": job_id, **rec.get("params", {})})
    body = await run_in_threadpool(jobs.result, job_id)
    return Response(body, media_type=rec["media_type"], headers={"Cache-Control": "private, no-store"})
