"""kk/ru/en messages and progress of ``qauipsiz national run`` (:mod:`api.cli.national_run`).

:class:`Progress` draws a rich progress bar when stderr is a terminal and prints one plain line
per finished task otherwise (cron, a log file, a pipe), in the language of ``--lang``.
"""
from __future__ import annotations

from typing import TextIO

LANGS = ("kk", "ru", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "dashboard": {"kk": "Dask басқару тақтасы: {link}", "ru": "Панель Dask: {link}", "en": "Dask dashboard: {link}"},
    "no_dashboard": {
        "kk": "Dask тақтасы іске қосылмаған (жоспарлағышта bokeh жоқ: pip install bokeh)",
        "ru": "Панель Dask не запущена (у планировщика нет bokeh: pip install bokeh)",
        "en": "Dask dashboard: not running (the scheduler has no bokeh: pip install bokeh)"},
    "start": {
        "kk": "ұлттық есептеу: {cities} қала, {tasks} тапсырма ({granularity}), {workers} жұмыс процесі",
        "ru": "национальный расчёт: городов {cities}, задач {tasks} ({granularity}), рабочих процессов {workers}",
        "en": "national run: {cities} cities, {tasks} tasks ({granularity}) on {workers} workers"},
    "gran_city": {"kk": "әр қалаға бір тапсырма", "ru": "одна задача на город", "en": "one per city"},
    "gran_part": {"kk": "қаланың әр бөлігіне бір тапсырма", "ru": "одна задача на часть города",
                  "en": "one per city part"},
    "gran_auto": {"kk": "әр қалаға бір тапсырма, ең ірілері бөліктерге бөлінген",
                  "ru": "одна задача на город, крупнейшие по частям",
                  "en": "one per city, the largest split into parts"},
    "bar": {"kk": "ұлттық есептеу", "ru": "национальный расчёт", "en": "national run"},
    "task_done": {"kk": "[{done}/{total}] {what}: дайын, {seconds:.1f} с",
                  "ru": "[{done}/{total}] {what}: готово за {seconds:.1f} с",
                  "en": "[{done}/{total}] {what}: done in {seconds:.1f} s"},
    "task_failed": {"kk": "[{done}/{total}] {what}: ҚАТЕ — {error}",
                    "ru": "[{done}/{total}] {what}: ОШИБКА — {error}",
                    "en": "[{done}/{total}] {what}: FAILED — {error}"},
    "summary": {
        "kk": "{n} қаланың {ok} дайын: {wall:.1f} с, {workers} жұмыс процесі ({granularity}) → {path}",
        "ru": "готово городов: {ok} из {n} за {wall:.1f} с, рабочих процессов {workers} ({granularity}) → {path}",
        "en": "{ok}/{n} cities done in {wall:.1f} s on {workers} workers ({granularity}) → {path}"},
    "failed": {"kk": "  орындалмады: {city}, {attempts} әрекеттен кейін: {error}",
               "ru": "  не выполнено: {city} после {attempts} попыток: {error}",
               "en": "  failed: {city} after {attempts} attempts: {error}"},
    "killed": {
        "kk": "  қайта орындалды: {city} ({task}): тапсырма кезінде жұмыс процесі (pid {pids}) тоқтады, "
              "Dask тапсырманы басқа процесте қайта орындады; жоспарлағыш санағы: {deaths}, рұқсат етілгені {allowed}",
        "ru": "  перезапуск: {city} ({task}): рабочий процесс (pid {pids}) завершился во время задачи, "
              "Dask выполнил её заново в другом процессе; счёт планировщика: {deaths} из {allowed} допустимых",
        "en": "  retried: {city} ({task}): the worker process (pid {pids}) died during the task and Dask "
              "ran it again elsewhere; scheduler count: {deaths} of {allowed} allowed worker deaths"},
    "moved": {
        "kk": "  қайта тағайындалды: {city} ({task}): тапсырма тоқтаған жұмыс процесінде кезекте тұрған, "
              "басқасында орындалды; жоспарлағыш санағы: {deaths}, рұқсат етілгені {allowed}",
        "ru": "  переназначено: {city} ({task}): задача ждала в очереди погибшего рабочего процесса и "
              "выполнена в другом; счёт планировщика: {deaths} из {allowed} допустимых",
        "en": "  rescheduled: {city} ({task}): it was queued on a worker that died and ran on another; "
              "scheduler count: {deaths} of {allowed} allowed worker deaths"},
    "errored": {"kk": "  қайталанды: {city} ({task}): {n} рет қатемен аяқталды, содан кейін сәтті: {error}",
                "ru": "  повтор: {city} ({task}): ошибка {n} раз(а), затем успешно: {error}",
                "en": "  retried: {city} ({task}): raised {n} time(s), then succeeded: {error}"},
    "city_task": {"kk": "қала тапсырмасы", "ru": "задача города", "en": "city task"},
}


def say(key: str, lang: str, **fmt) -> str:
    """The message ``key`` in ``lang`` (``kk``, ``ru`` or ``en``) with ``fmt`` filled in."""
    if lang not in LANGS:
        raise ValueError(f"lang={lang!r}: use one of {', '.join(LANGS)}")
    return MESSAGES[key][lang].format(**fmt)


def task_name(part: str | None, lang: str) -> str:
    """A task as users see it: the part's key, or "city task" in ``lang`` for a whole-city task."""
    return part if part else say("city_task", lang)


class Progress:
    """Progress of the job's tasks on stderr: a rich bar on a terminal, else one plain line per task.

    Parameters
    ----------
    lang : str
        ``kk``, ``ru`` or ``en``.
    file : text stream, optional
        Default ``sys.stderr``.
    terminal : bool, optional
        Force the bar (True) or the plain lines (False); default: whether ``file`` is a terminal.
    """

    def __init__(self, lang: str, file: TextIO | None = None, terminal: bool | None = None):
        import sys

        from rich.console import Console

        say("bar", lang)  # unknown language: ValueError now, not at the first task
        self.lang = lang
        self.console = Console(file=file or sys.stderr, force_terminal=terminal, highlight=False,
                               soft_wrap=True)
        self.bar = None
        self.task = None
        self.total = 0
        self.done = 0

    @property
    def is_bar(self) -> bool:
        """Whether the progress shows as a rich bar (the stream is a terminal)."""
        return bool(self.console.is_terminal)

    def start(self, total: int, *, cities: int | None = None, workers: int | None = None,
              granularity: str | None = None) -> None:
        """Begin counting ``total`` tasks; with ``cities``, first a line saying what runs where."""
        self.total, self.done = total, 0
        if cities is not None:
            self.console.print(say("start", self.lang, cities=cities, tasks=total, workers=workers,
                                   granularity=say(f"gran_{granularity}", self.lang)), markup=False)
        if self.is_bar:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), console=self.console)
            self.bar.start()
            self.task = self.bar.add_task(say("bar", self.lang), total=total)

    def __call__(self, city: str, part: str | None, seconds: float, error: str | None = None) -> None:
        """One task finished (``error`` set when it failed for good); ``seconds`` its task time, s."""
        self.done += 1
        what = f"{city} {task_name(part, self.lang)}" if part else city
        kw = {"done": self.done, "total": self.total, "what": what}
        line = say("task_failed", self.lang, error=error, **kw) if error else \
            say("task_done", self.lang, seconds=seconds, **kw)
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=f"{say('bar', self.lang)}: {what}")
            if error:
                self.bar.console.print(line, markup=False)
        else:
            self.console.print(line, markup=False)

    def stop(self) -> None:
        """Close the bar (no-op for plain lines)."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
