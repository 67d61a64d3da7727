"""amoCRM models as the mirror's rows, and back (state/mirror.py keeps rows: it knows no amoCRM)."""

from __future__ import annotations

from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Pipeline
from leoweb_bot.amocrm.models import Stage
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.state.mirror import LeadRow
from leoweb_bot.state.mirror import PipelineRow
from leoweb_bot.state.mirror import StageRow
from leoweb_bot.state.mirror import TaskRow
from leoweb_bot.state.mirror import UserRow


def task_row(task: Task) -> TaskRow:
    return TaskRow(
        task.id, task.responsible_user_id, task.complete_till, task.is_completed,
        task.entity_type, task.entity_id, task.task_type_id, task.text, task.updated_at or 0,
    )  # fmt: skip


def task_of(row: TaskRow) -> Task:
    return Task(
        id=row.id, text=row.text, responsible_user_id=row.responsible_user_id,
        complete_till=row.complete_till, is_completed=bool(row.is_completed),
        entity_type=row.entity_type, entity_id=row.entity_id, task_type_id=row.task_type_id,
        updated_at=row.updated_at,
    )  # fmt: skip


def lead_row(lead: Lead) -> LeadRow:
    return LeadRow(
        lead.id, lead.pipeline_id, lead.status_id, lead.name, lead.price,
        lead.responsible_user_id, lead.created_at, lead.closed_at, lead.updated_at or 0,
    )  # fmt: skip


def lead_of(row: LeadRow) -> Lead:
    return Lead(
        id=row.id, name=row.name, price=row.price, status_id=row.status_id,
        pipeline_id=row.pipeline_id, responsible_user_id=row.responsible_user_id,
        created_at=row.created_at, closed_at=row.closed_at, updated_at=row.updated_at,
    )  # fmt: skip


def user_row(user: User) -> UserRow:
    return UserRow(user.id, user.name, user.is_admin, user.is_active)


def user_of(row: UserRow) -> User:
    return User(row.id, row.name, row.is_admin, row.is_active)


def pipeline_rows(pipelines: list[Pipeline]) -> tuple[list[PipelineRow], list[StageRow]]:
    stages = [
        StageRow(s.pipeline_id, s.id, s.name, s.sort, s.type) for p in pipelines for s in p.stages
    ]
    return [PipelineRow(p.id, p.name, p.is_main, p.is_archive) for p in pipelines], stages


def pipeline_of(row: PipelineRow, stages: list[StageRow]) -> Pipeline:
    return Pipeline(
        id=row.id, name=row.name, is_main=row.is_main, is_archive=row.is_archive,
        stages=tuple(Stage(s.id, s.name, s.sort, s.pipeline_id, s.type) for s in stages),
    )  # fmt: skip
