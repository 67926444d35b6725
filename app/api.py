"""Every /api/v1 router, in the order they appear in the OpenAPI document."""

from fastapi import APIRouter

API_ROUTERS: list[APIRouter] = []
