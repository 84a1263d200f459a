"""The project library (项目库) in front of the factor ledger: 要素跟着项目走 needs the projects first.

Python API (what other parts, e.g. 业务协同, build on)::

    from geo.projects import ProjectLibrary
    library = ProjectLibrary(engine)             # the ledger's database (geo.db.make_engine + migrate)
    library.add("XM-1", name="…", project_type="industrial", level="市重点", county="370811",
                actor="发改委", stage="储备", start_by=date(2026, 6, 30))   # county registered in the ledger
    project = library.get("XM-1")                # Project (frozen): id, name, project_type, level, county,
                                                 # stage, start_by, created, actor; .is_key, .row()
    library.set_stage("XM-1", "审批", actor="…", reason="…")   # one step forward, or 撤销; history kept
    library.history("XM-1")                      # [StageChange(project_id, from_stage, to_stage, at, actor, reason)]
    library.link_review("XM-1", review_id, parcel_id, actor="…")   # idempotent; reviews("XM-1") lists them
    library.projects(county=None, stage=None); library.overdue(as_of)   # 应开未开

A 项目编号 is normalised wherever it enters (Unicode NFKC, stripped: :func:`geo.vocabulary.project_id_text`), so
``library.get("ＸＭ-1")`` finds XM-1 and entering ＸＭ-1 beside it is a duplicate; :func:`stored_project_id` is the
one look-up (ids entered before the normalisation are still found as stored). Unknown ids raise
:class:`~geo.errors.NotFoundError`; bad values :class:`~geo.errors.InputError`;
a refused change (duplicate id, a skipped or reopened stage) :class:`~geo.errors.ProjectError`.
Inside an open ledger transaction use :func:`project_in`, :func:`require_project`,
:func:`link_review_in`, :func:`set_stage_in`. Vocabulary: :data:`LEVELS`, :data:`KEY_LEVELS` (重点: the city pool
serves them), :data:`STAGES`, :data:`FUNDABLE` (储备 to 建设: 先入库后保障). The rules and their
policy sources are in :mod:`geo.projects.library`.
"""

from geo.projects.library import (
    FUNDABLE,
    KEY_LEVELS,
    LEVELS,
    STAGES,
    Project,
    ProjectLibrary,
    ReviewLink,
    StageChange,
    check_level,
    check_project_id,
    check_stage,
    check_transition,
    fundable_reason,
    link_review_in,
    project_in,
    require_project,
    set_stage_in,
    stored_project_id,
)

__all__ = [
    "FUNDABLE",
    "KEY_LEVELS",
    "LEVELS",
    "STAGES",
    "Project",
    "ProjectLibrary",
    "ReviewLink",
    "StageChange",
    "check_level",
    "check_project_id",
    "check_stage",
    "check_transition",
    "fundable_reason",
    "link_review_in",
    "project_in",
    "require_project",
    "set_stage_in",
    "stored_project_id",
]
