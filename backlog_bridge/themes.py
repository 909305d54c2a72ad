"""The theme stage: keep the store's themes up to date, and apply a team's decisions about them.

IO lives here (store reads and writes); the judgement lives in pure modules: `cluster.prepare`
(what is actionable), `cluster.specificity` (vague remarks with no reason), `cluster.identity`
(which comment belongs to which theme, stably), `cluster.sklearn` (new themes), `cluster.label`
(labels, keywords, quotes).
Human decisions (rename, merge, split, suppress) are stored on the themes themselves, so every
later run starts from them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, func, select

from backlog_bridge.classify import Category
from backlog_bridge.cluster.clusterer import UNTHEMED, ClusterResult, FloatArray
from backlog_bridge.cluster.identity import IdentityParams, IdentityUpdate, KnownTheme, update_identity
from backlog_bridge.cluster.label import ThemeDescription, describe_themes
from backlog_bridge.cluster.prepare import is_actionable
from backlog_bridge.cluster.sklearn import ClusterParams, SklearnClusterer
from backlog_bridge.cluster.specificity import SpecificityJudge, SpecificityParams
from backlog_bridge.context import AnalysisWindow
from backlog_bridge.embed.cache import CachedEmbedder
from backlog_bridge.embed.embedder import Embedder
from backlog_bridge.errors import BacklogBridgeError
from backlog_bridge.plan.redact import Redactor
from backlog_bridge.score import ShareTrend, share_trend
from backlog_bridge.settings import ThemeSettings
from backlog_bridge.store.tables import Response, Theme, ThemeEvent, ThemeMember, utcnow

THEMED, UNTHEMED_BUCKET, NOT_ACTIONABLE = "theme", "unthemed", "not_actionable"
NO_SPECIFIC_REASON = "no_specific_reason"
"""Bucket of comments that say how someone feels but name no problem or request ("pretty good",
"does the job"). Kept apart from NOT_ACTIONABLE ("n/a", "-", empty): a vague remark is an answer,
and its count tells a lead how many respondents gave no reason at all."""


class ThemeError(BacklogBridgeError):
    """A theme command names a theme that does not exist or cannot take the change."""


@dataclass
class ThemeRunSummary:
    """What one theme update did."""

    window_start: datetime
    window_end: datetime
    comments: int = 0
    not_actionable: int = 0
    no_specific_reason: int = 0
    themed: int = 0
    unthemed: int = 0
    embedded: int = 0
    active_themes: int = 0
    born: list[int] = field(default_factory=list)
    merged: list[tuple[int, int]] = field(default_factory=list)
    retired: list[int] = field(default_factory=list)

    @property
    def unthemed_share(self) -> float:
        """Share of actionable comments in the window that no theme took."""
        actionable = self.themed + self.unthemed
        return self.unthemed / actionable if actionable else 0.0


@dataclass(frozen=True)
class _Comment:
    response_id: int
    text: str
    category: str
    responded_at: datetime


def update_themes(
    engine: Engine,
    embedder: Embedder,
    settings: ThemeSettings,
    window: AnalysisWindow,
    run_id: int | None = None,
    redactor: Redactor | None = None,
) -> ThemeRunSummary:
    """Bring themes up to date with the detractor and passive comments of the window.

    Comments with nothing to act on ("n/a") and vague remarks with no reason ("pretty good") are
    counted in their buckets and never clustered. Labels, keywords and quotes are made from the
    comments as `redactor` (the team's rules; default: every built-in detector) leaves them, so no
    personal data reaches a label, and with it an issue title. Comments of the window before
    (`window.previous_start` on) keep their themes too, so trends compare like with like.
    """
    start = window.start
    summary = ThemeRunSummary(window_start=start, window_end=window.end)
    comments = _window_comments(engine, window.previous_start, window.end)
    actionable: list[_Comment] = []
    skipped: list[_Comment] = []
    for comment in comments:
        (actionable if is_actionable(comment.text) else skipped).append(comment)
    cached = CachedEmbedder(embedder, engine)
    if not settings.vague_apart:
        flags = [False] * len(actionable)
    else:
        judge = SpecificityJudge(cached.encode, SpecificityParams(margin=settings.vague_margin))
        flags = judge.vague([c.text for c in actionable])
    vague = [c for c, flag in zip(actionable, flags, strict=True) if flag]
    actionable = [c for c, flag in zip(actionable, flags, strict=True) if not flag]
    vectors = cached.encode([c.text for c in actionable])
    current = np.array([c.responded_at >= start for c in actionable], dtype=bool)
    with Session(engine) as session:
        stored = _stored_members(session, [c.response_id for c in comments])
        known, previous = _known_themes(session, embedder.name, stored)
    clusterer = SklearnClusterer(
        ClusterParams(min_theme_size=settings.min_theme_size, merge_threshold=settings.granularity)
    )
    identity = IdentityParams(settings.assign_similarity, settings.merge_similarity)
    update = update_identity(
        [c.response_id for c in actionable], vectors, previous, known, clusterer, identity, current
    )
    stale = _needs_labels(update, known)
    redactor = redactor or Redactor.default()
    descriptions = _describe(actionable, vectors, update, current, cached, redactor) if stale else {}
    descriptions = {ref: d for ref, d in descriptions.items() if ref in stale}
    summary.embedded = cached.computed
    with Session(engine) as session, session.begin():
        ids = _save_themes(session, update, descriptions, embedder.name, run_id, known)
        _save_members(session, actionable, {NOT_ACTIONABLE: skipped, NO_SPECIFIC_REASON: vague}, update, ids,
                      run_id, stored)  # fmt: skip
        _save_counts(session, actionable, current, update, ids)
    summary.not_actionable = sum(1 for c in skipped if c.responded_at >= start)
    summary.no_specific_reason = sum(1 for c in vague if c.responded_at >= start)
    summary.comments = int(np.sum(current)) + summary.not_actionable + summary.no_specific_reason
    themed = [c for c, row in zip(actionable, current, strict=True) if row and update.assignments[c.response_id]]
    summary.themed = len(themed)
    summary.unthemed = int(np.sum(current)) - summary.themed
    summary.active_themes = len(update.centroids)
    summary.born = [ids[ref] for ref in update.born]
    summary.merged = update.merged
    summary.retired = update.retired
    return summary


def _window_comments(engine: Engine, start: datetime, end: datetime) -> list[_Comment]:
    query = (
        select(Response.id, Response.comment, Response.category, Response.responded_at)
        .where(col(Response.category).in_([Category.DETRACTOR.value, Category.PASSIVE.value]))
        .where(col(Response.comment).is_not(None))
        .where(col(Response.responded_at) >= start, col(Response.responded_at) < end)
        .order_by(col(Response.id))
    )
    with Session(engine) as session:
        return [_Comment(int(rid or 0), str(text), str(cat), at) for rid, text, cat, at in session.exec(query)]


def _known_themes(
    session: Session, model: str, stored: dict[int, tuple[int | None, str]]
) -> tuple[list[KnownTheme], dict[int, int | None]]:
    themes = list(session.exec(select(Theme).where(col(Theme.status) == "active", col(Theme.model) == model)))
    siblings: dict[int, set[int]] = {}
    for theme in themes:
        if theme.split_from_id is not None:
            siblings.setdefault(theme.split_from_id, set()).add(theme.id or 0)
    known = [
        KnownTheme(
            theme_id=theme.id or 0,
            centroid=np.frombuffer(theme.centroid, dtype=np.float32).copy(),
            previous_size=theme.size,
            keep_apart=frozenset(siblings.get(theme.split_from_id, set()) - {theme.id})
            if theme.split_from_id
            else frozenset(),
        )
        for theme in themes
    ]
    successor = _successors(session)
    previous = {response_id: successor(theme_id) for response_id, (theme_id, _) in stored.items()}
    return known, previous


def _successors(session: Session) -> Callable[[int | None], int | None]:
    """Resolve a theme id through merges to the theme that holds its comments now."""
    query = select(Theme).where(col(Theme.status) == "merged")
    merged: dict[int | None, int | None] = {t.id: t.merged_into_id for t in session.exec(query)}

    def follow(theme_id: int | None) -> int | None:
        seen: set[int | None] = set()
        while theme_id in merged and theme_id not in seen:
            seen.add(theme_id)
            theme_id = merged[theme_id]
        return theme_id

    return follow


def _needs_labels(update: IdentityUpdate, known: Sequence[KnownTheme], change: float = 0.1) -> set[int]:
    """Themes whose label, keywords and quotes are redone: new, merged into, or changed by 10% or more.

    Others keep theirs, so labels stay put from run to run and a quiet incremental run skips the
    (global) c-TF-IDF altogether.
    """
    before = {theme.theme_id: theme.previous_size for theme in known}
    survivors = {survivor for _, survivor in update.merged}
    return {
        ref
        for ref, size in update.sizes.items()
        if ref not in before or ref in survivors or abs(size - before[ref]) >= max(2.0, change * before[ref])
    }


def _describe(
    comments: Sequence[_Comment],
    vectors: FloatArray,
    update: IdentityUpdate,
    current: np.ndarray,
    embedder: Embedder,
    redactor: Redactor,
) -> dict[int, ThemeDescription]:
    """Labels, keywords and quotes from the redacted comments; label phrases embed through the cache."""
    refs = sorted(update.centroids)
    index = {ref: i for i, ref in enumerate(refs)}
    rows = [int(r) for r in np.flatnonzero(current)]
    assigned = [update.assignments[comments[r].response_id] for r in rows]
    labels = np.array([UNTHEMED if ref is None else index[ref] for ref in assigned], dtype=np.int64)
    centroids = np.stack([update.centroids[ref] for ref in refs]) if refs else np.zeros((0, vectors.shape[1]))
    result = ClusterResult(labels=labels, centroids=centroids.astype(np.float32))
    texts = [redactor.redact(comments[r].text) for r in rows]
    described = describe_themes(
        texts, vectors[rows], result, encode=embedder.encode, placeholders=redactor.replacements
    )
    return {refs[d.theme]: _with_ids(d, [comments[r].response_id for r in rows]) for d in described}


def _with_ids(description: ThemeDescription, response_ids: Sequence[int]) -> ThemeDescription:
    # quote_rows index the described subset; keep response ids there for traceability.
    return ThemeDescription(
        theme=description.theme,
        label=description.label,
        keywords=description.keywords,
        quotes=description.quotes,
        quote_rows=tuple(response_ids[i] for i in description.quote_rows),
        size=description.size,
    )


def _save_themes(
    session: Session,
    update: IdentityUpdate,
    descriptions: dict[int, ThemeDescription],
    model: str,
    run_id: int | None,
    known: Sequence[KnownTheme],
) -> dict[int, int]:
    ids: dict[int, int] = {}
    now = utcnow()
    locked = {t.label for t in session.exec(select(Theme).where(col(Theme.label_locked)))}
    for ref in sorted(update.centroids):
        description = descriptions.get(ref)
        theme = session.get(Theme, ref) if ref > 0 else None
        if theme is None:
            theme = Theme(key=_new_key(), label="", model=model, centroid=b"")
        theme.centroid = update.centroids[ref].tobytes()
        theme.size = update.sizes[ref]
        theme.status = "active"
        theme.updated_at = now
        if description is not None:
            theme.keywords = list(description.keywords)
            theme.quotes = [
                {"response_id": rid, "text": text}
                for rid, text in zip(description.quote_rows, description.quotes, strict=True)
            ]
            if not theme.label_locked:
                theme.label = _free_label(description.label, locked)
        session.add(theme)
        session.flush()
        ids[ref] = theme.id or 0
        if ref < 0:
            _event(session, ids[ref], "born", run_id, {"size": theme.size, "label": theme.label})
    for theme_id, before, after in update.grew:
        _event(session, theme_id, "grew", run_id, {"from": before, "to": after})
    for theme_id, before, after in update.shrank:
        _event(session, theme_id, "shrank", run_id, {"from": before, "to": after})
    for absorbed, survivor in update.merged:
        _mark_merged(session, absorbed, ids.get(survivor, survivor), run_id, "pipeline")
    for theme_id in update.retired:
        theme = session.get(Theme, theme_id)
        if theme is not None:
            theme.status, theme.size, theme.updated_at = "retired", 0, now
            session.add(theme)
            _event(session, theme_id, "retired", run_id, {})
    return ids


def _new_key() -> str:
    """Stable theme key: written into the tracker issue, so it never changes."""
    return f"theme-{uuid.uuid4().hex[:10]}"


def _free_label(label: str, taken: set[str]) -> str:
    candidate, n = label, 2
    while candidate in taken:
        candidate, n = f"{label} ({n})", n + 1
    return candidate


def _stored_members(session: Session, response_ids: Sequence[int]) -> dict[int, tuple[int | None, str]]:
    """Each comment's stored theme and bucket (columns only: this runs on every comment of two windows)."""
    found: dict[int, tuple[int | None, str]] = {}
    for start in range(0, len(response_ids), 500):
        chunk = response_ids[start : start + 500]
        query = select(ThemeMember.response_id, ThemeMember.theme_id, ThemeMember.bucket).where(
            col(ThemeMember.response_id).in_(chunk)
        )
        found.update((rid, (theme_id, bucket)) for rid, theme_id, bucket in session.exec(query))
    return found


def _save_members(
    session: Session,
    actionable: Sequence[_Comment],
    set_aside: dict[str, list[_Comment]],
    update: IdentityUpdate,
    ids: dict[int, int],
    run_id: int | None,
    stored: dict[int, tuple[int | None, str]],
) -> None:
    """Write only what changed: new rows in bulk, changed rows one by one (few after the first run)."""
    wanted: dict[int, tuple[int | None, str, float | None]] = {}
    for comment in actionable:
        ref = update.assignments[comment.response_id]
        theme_id = ids.get(ref) if ref is not None else None
        bucket = THEMED if theme_id else UNTHEMED_BUCKET
        wanted[comment.response_id] = (theme_id, bucket, update.similarities.get(comment.response_id))
    for bucket, comments in set_aside.items():
        for comment in comments:
            wanted[comment.response_id] = (None, bucket, None)
    now = utcnow()
    new_rows = []
    for response_id, (theme_id, bucket, similarity) in wanted.items():
        values = {"theme_id": theme_id, "bucket": bucket, "similarity": similarity, "run_id": run_id,
                  "assigned_at": now}  # fmt: skip
        if response_id not in stored:
            new_rows.append({"response_id": response_id, **values})
        elif stored[response_id] != (theme_id, bucket):
            statement = sa_update(ThemeMember).where(col(ThemeMember.response_id) == response_id).values(**values)
            session.execute(statement)
    for start in range(0, len(new_rows), 500):
        session.execute(sa_insert(ThemeMember), new_rows[start : start + 500])


def _save_counts(
    session: Session,
    comments: Sequence[_Comment],
    current: np.ndarray,
    update: IdentityUpdate,
    ids: dict[int, int],
) -> None:
    counts: dict[int, Counter[str]] = {}
    for comment, in_window in zip(comments, current, strict=True):
        ref = update.assignments[comment.response_id]
        if in_window and ref is not None:
            counts.setdefault(ids[ref], Counter())[comment.category] += 1
    for theme_id, counter in counts.items():
        theme = session.get(Theme, theme_id)
        if theme is not None:
            theme.detractors, theme.passives = (
                counter[Category.DETRACTOR.value],
                counter[Category.PASSIVE.value],
            )
            session.add(theme)


def _event(session: Session, theme_id: int, kind: str, run_id: int | None, detail: dict[str, Any],
           actor: str = "pipeline") -> None:  # fmt: skip
    session.add(ThemeEvent(theme_id=theme_id, kind=kind, run_id=run_id, detail=detail, actor=actor))


def _mark_merged(session: Session, absorbed: int, survivor: int, run_id: int | None, actor: str) -> None:
    theme = session.get(Theme, absorbed)
    if theme is None:
        return
    theme.status, theme.merged_into_id, theme.size, theme.updated_at = "merged", survivor, 0, utcnow()
    session.add(theme)
    for member in session.exec(select(ThemeMember).where(col(ThemeMember.theme_id) == absorbed)):
        member.theme_id = survivor
        session.add(member)
    _event(session, absorbed, "merged", run_id, {"into": survivor}, actor)
    _event(session, survivor, "merged", run_id, {"absorbed": absorbed}, actor)


# --- a team's decisions --------------------------------------------------------------------


def get_theme(session: Session, theme_ref: str) -> Theme:
    """A theme by id ("12") or key ("theme-ab12cd34ef")."""
    query = select(Theme).where(col(Theme.key) == theme_ref)
    theme = session.get(Theme, int(theme_ref)) if theme_ref.isdigit() else session.exec(query).first()
    if theme is None:
        raise ThemeError(f"no theme {theme_ref!r}: see `backlog-bridge themes` for ids")
    return theme


def rename_theme(engine: Engine, theme_ref: str, label: str) -> Theme:
    """Give a theme a human label that later runs keep."""
    label = " ".join(label.split())
    if not label:
        raise ThemeError("a theme label cannot be empty")
    with Session(engine) as session, session.begin():
        theme = get_theme(session, theme_ref)
        old = theme.label
        theme.label, theme.label_locked, theme.updated_at = label, True, utcnow()
        session.add(theme)
        _event(session, theme.id or 0, "renamed", None, {"from": old, "to": label}, "human")
        session.flush()
        session.expunge(theme)
    return theme


def merge_themes(engine: Engine, sources: Sequence[str], target: str) -> Theme:
    """Fold themes into `target`; their comments (and future similar ones) belong to it from now on."""
    with Session(engine) as session, session.begin():
        into = get_theme(session, target)
        if into.status != "active":
            raise ThemeError(f"theme {target} is {into.status}; merge into an active theme")
        for source in sources:
            theme = get_theme(session, source)
            if theme.id == into.id:
                raise ThemeError(f"cannot merge theme {source} into itself")
            _mark_merged(session, theme.id or 0, into.id or 0, None, "human")
        session.flush()
        session.expunge(into)
    return into


def suppress_theme(engine: Engine, theme_ref: str, reason: str | None) -> Theme:
    """Never file this theme (reason shown in the plan); None lifts the suppression."""
    with Session(engine) as session, session.begin():
        theme = get_theme(session, theme_ref)
        theme.suppressed_reason, theme.updated_at = reason, utcnow()
        session.add(theme)
        kind = "suppressed" if reason else "unsuppressed"
        _event(session, theme.id or 0, kind, None, {"reason": reason} if reason else {}, "human")
        session.flush()
        session.expunge(theme)
    return theme


def split_theme(engine: Engine, embedder: Embedder, theme_ref: str) -> list[Theme]:
    """Split a theme in two by its comments' meaning; later runs never merge the halves back."""
    from sklearn.cluster import KMeans

    with Session(engine) as session, session.begin():
        theme = get_theme(session, theme_ref)
        members = list(session.exec(select(ThemeMember).where(col(ThemeMember.theme_id) == theme.id)))
        responses = {r.id: r for r in _responses(session, [m.response_id for m in members])}
        usable = [m for m in members if responses.get(m.response_id) and responses[m.response_id].comment]
        if len(usable) < 4:
            raise ThemeError(f"theme {theme_ref} has {len(usable)} comments; at least 4 are needed to split it")
        texts = [str(responses[m.response_id].comment) for m in usable]
        vectors = CachedEmbedder(embedder, session.get_bind()).encode(texts)  # type: ignore[arg-type]
        halves = KMeans(n_clusters=2, n_init=4, random_state=0).fit_predict(vectors)
        created: list[Theme] = []
        for half in (0, 1):
            rows = np.flatnonzero(halves == half)
            centre = vectors[rows].mean(axis=0)
            centre = (centre / max(float(np.linalg.norm(centre)), 1e-12)).astype(np.float32)
            child = Theme(
                key=_new_key(),
                label=f"{theme.label} ({'ab'[half]})",
                model=theme.model,
                centroid=centre.tobytes(),
                size=int(rows.size),
                split_from_id=theme.id,
                keywords=theme.keywords,
            )
            session.add(child)
            session.flush()
            for row in rows:
                member = usable[int(row)]
                member.theme_id = child.id
                session.add(member)
            created.append(child)
        theme.status, theme.size, theme.updated_at = "retired", 0, utcnow()
        session.add(theme)
        children = [c.id for c in created]
        _event(session, theme.id or 0, "split", None, {"into": children}, "human")
        for child in created:
            _event(session, child.id or 0, "born", None, {"split_from": theme.id}, "human")
        session.flush()
        for child in created:
            session.expunge(child)
    return created


def _responses(session: Session, ids: Sequence[int]) -> list[Response]:
    found: list[Response] = []
    for start in range(0, len(ids), 500):
        found.extend(session.exec(select(Response).where(col(Response.id).in_(ids[start : start + 500]))))
    return found


# --- reading themes back ---------------------------------------------------------------------


@dataclass(frozen=True)
class ThemeStat:
    """A theme as a lead reads it: counts in the window, share of all responses, trend."""

    theme: Theme
    detractors: int
    passives: int
    share: float
    previous_share: float
    trend: ShareTrend | None
    """None when the window before holds no responses to compare with."""


def theme_stats(engine: Engine, window: AnalysisWindow) -> list[ThemeStat]:
    """Active themes, largest first, with their share of responses in the window and in the one before."""
    end, start, earlier = window.end, window.start, window.previous_start
    with Session(engine) as session:
        themes = list(session.exec(select(Theme).where(col(Theme.status) == "active")))
        n_current = _responses_between(session, start, end)
        n_previous = _responses_between(session, earlier, start)
        query = (
            select(ThemeMember.theme_id, Response.category, Response.responded_at)
            .join(Response, col(Response.id) == col(ThemeMember.response_id))
            .where(col(ThemeMember.theme_id).is_not(None))
            .where(col(Response.responded_at) >= earlier, col(Response.responded_at) < end)
        )
        current: dict[int, Counter[str]] = {}
        previous: Counter[int] = Counter()
        for theme_id, category, at in session.exec(query):
            if theme_id is None:
                continue
            if at >= start:
                current.setdefault(theme_id, Counter())[category] += 1
            else:
                previous[theme_id] += 1
        for theme in themes:
            session.expunge(theme)
    stats = []
    for theme in themes:
        counts = current.get(theme.id or 0, Counter())
        k = counts[Category.DETRACTOR.value] + counts[Category.PASSIVE.value]
        trend = share_trend(previous[theme.id or 0], n_previous, k, n_current) if n_previous and n_current else None
        stats.append(
            ThemeStat(
                theme=theme,
                detractors=counts[Category.DETRACTOR.value],
                passives=counts[Category.PASSIVE.value],
                share=k / n_current if n_current else 0.0,
                previous_share=previous[theme.id or 0] / n_previous if n_previous else 0.0,
                trend=trend,
            )
        )
    stats.sort(key=lambda s: (-(s.detractors + s.passives), s.theme.id or 0))
    return stats


@dataclass(frozen=True)
class SetAside:
    """Detractor and passive comments of the window that no theme holds, because none could be filed.

    Attributes:
        comments: detractor and passive comments in the window (the share's denominator).
        no_specific_reason: vague remarks and praise without a reason ("pretty good", "does the job").
        not_actionable: empty answers and stock phrases ("n/a", "-", "nothing").
        examples: the commonest vague remarks, as written (not redacted: callers redact).
    """

    comments: int
    no_specific_reason: int
    not_actionable: int
    examples: tuple[str, ...]

    @property
    def share(self) -> float:
        """Share of the window's detractor and passive comments that gave no specific reason."""
        return self.no_specific_reason / self.comments if self.comments else 0.0


def set_aside(engine: Engine, window: AnalysisWindow, n_examples: int = 3) -> SetAside:
    """Counts of the window's vague and non-actionable comments, with the commonest vague remarks."""
    start, end = window.start, window.end
    query = (
        select(ThemeMember.bucket, Response.comment)
        .join(Response, col(Response.id) == col(ThemeMember.response_id))
        .where(col(Response.category).in_([Category.DETRACTOR.value, Category.PASSIVE.value]))
        .where(col(Response.responded_at) >= start, col(Response.responded_at) < end)
    )
    buckets: Counter[str] = Counter()
    remarks: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    with Session(engine) as session:
        for bucket, comment in session.exec(query):
            buckets[bucket] += 1
            if bucket == NO_SPECIFIC_REASON and comment:
                key = " ".join(comment.casefold().split())
                remarks[key] += 1
                spelling.setdefault(key, " ".join(comment.split()))
    # Commonest first, then alphabetical: the same examples every time.
    examples = tuple(spelling[key] for key in sorted(remarks, key=lambda k: (-remarks[k], k))[:n_examples])
    return SetAside(sum(buckets.values()), buckets[NO_SPECIFIC_REASON], buckets[NOT_ACTIONABLE], examples)


def _responses_between(session: Session, start: datetime, end: datetime) -> int:
    query = select(func.count()).select_from(Response)
    query = query.where(col(Response.responded_at) >= start, col(Response.responded_at) < end)
    return int(session.exec(query).one())


def theme_events(engine: Engine, theme_id: int) -> list[ThemeEvent]:
    """Lineage of a theme, oldest first."""
    query = select(ThemeEvent).where(col(ThemeEvent.theme_id) == theme_id).order_by(col(ThemeEvent.id))
    with Session(engine) as session:
        events = list(session.exec(query))
        for event in events:
            session.expunge(event)
    return events


def export_assignments(engine: Engine, window: AnalysisWindow) -> list[dict[str, Any]]:
    """One record per detractor or passive response with a comment in the window, with its theme."""
    start, end = window.start, window.end
    query = (
        sa_select(  # type: ignore[call-overload]
            Response.external_id, Response.source, ThemeMember.theme_id, ThemeMember.bucket, Theme.label
        )
        .join(ThemeMember, col(ThemeMember.response_id) == col(Response.id), isouter=True)
        .join(Theme, col(Theme.id) == col(ThemeMember.theme_id), isouter=True)
        .where(col(Response.category).in_([Category.DETRACTOR.value, Category.PASSIVE.value]))
        .where(col(Response.comment).is_not(None))
        .where(col(Response.responded_at) >= start, col(Response.responded_at) < end)
        .order_by(col(Response.id))
    )
    with Session(engine) as session:
        return [
            {"response_id": rid, "source": source, "theme_id": theme_id, "theme_label": label,
             "bucket": bucket or UNTHEMED_BUCKET}
            for rid, source, theme_id, bucket, label in session.execute(query)
        ]  # fmt: skip
