"""Map labels in Kazakh, Russian and English."""
from __future__ import annotations

LANGS = ("kk", "ru", "en")

LABELS: dict[str, dict[str, str]] = {
    "title": {"kk": "Қауіпсіз — қылмыс картасы", "ru": "Қауіпсіз — карта преступности", "en": "Қауіпсіз — crime map"},
    "districts": {"kk": "Аудандар", "ru": "Районы", "en": "Districts"},
    "streets": {"kk": "Көшелер", "ru": "Улицы", "en": "Streets"},
    "hotspots": {"kk": "Gi* ыстық нүктелер", "ru": "Очаги Gi*", "en": "Gi* hot spots"},
    "density": {"kk": "Тығыздық (KDE), оқиға/км²", "ru": "Плотность (KDE), происшествий/км²",
                "en": "Density (KDE), incidents/km²"},
    "public": {"kk": "Аудан көрсеткіштері", "ru": "Показатели районов", "en": "District indicators"},
    "cpted": {"kk": "CPTED квартал бағалары", "ru": "Оценки кварталов CPTED", "en": "CPTED block scores"},
    "sites": {"kk": "Ұсынылған орындар", "ru": "Рекомендуемые места", "en": "Recommended sites"},
    "routes": {"kk": "Патрульдік маршруттар", "ru": "Маршруты патрулей", "en": "Patrol routes"},
    "lamps": {"kk": "Шамдар", "ru": "Фонари", "en": "Street lamps"},
    "cameras": {"kk": "Камералар", "ru": "Камеры", "en": "Cameras"},
    "sos_buttons": {"kk": "SOS түймелері", "ru": "Кнопки SOS", "en": "SOS buttons"},
    "hot99": {"kk": "Ыстық нүкте, 99 %", "ru": "Очаг, 99 %", "en": "Hot spot, 99 %"},
    "hot95": {"kk": "Ыстық нүкте, 95 %", "ru": "Очаг, 95 %", "en": "Hot spot, 95 %"},
    "hot90": {"kk": "Ыстық нүкте, 90 %", "ru": "Очаг, 90 %", "en": "Hot spot, 90 %"},
    "notSig": {"kk": "Маңызды емес", "ru": "Не значимо", "en": "Not significant"},
    "cold90": {"kk": "Суық нүкте, 90 %", "ru": "Холодная зона, 90 %", "en": "Cold spot, 90 %"},
    "cold95": {"kk": "Суық нүкте, 95 %", "ru": "Холодная зона, 95 %", "en": "Cold spot, 95 %"},
    "cold99": {"kk": "Суық нүкте, 99 %", "ru": "Холодная зона, 99 %", "en": "Cold spot, 99 %"},
    "count": {"kk": "Оқиғалар саны", "ru": "Число происшествий", "en": "Incidents"},
    "rate": {"kk": "1000 тұрғынға", "ru": "На 1000 жителей", "en": "Per 1,000 residents"},
    "suppressed": {"kk": "жасырылған (< {k})", "ru": "скрыто (< {k})", "en": "suppressed (< {k})"},
    "score": {"kk": "Балл (0–100)", "ru": "Балл (0–100)", "en": "Score (0–100)"},
    "rank": {"kk": "Орны", "ru": "Место", "en": "Rank"},
    "gain": {"kk": "Шекті пайда", "ru": "Предельный выигрыш", "en": "Marginal gain"},
    "cell": {"kk": "Ұяшық", "ru": "Ячейка", "en": "Cell"},
    "unit": {"kk": "Экипаж", "ru": "Экипаж", "en": "Unit"},
    "legend": {"kk": "Шартты белгілер", "ru": "Легенда", "en": "Legend"},
    "hotspotsSummary": {
        "kk": "{cells} ұяшық, {n} оқиға → {out} ({fmt}); ыстық нүктелер 99/95/90 %: {h99}/{h95}/{h90}, суық: {cold}",
        "ru": "{cells} ячеек, {n} происшествий → {out} ({fmt}); очаги 99/95/90 %: {h99}/{h95}/{h90}, холодные: {cold}",
        "en": "{cells} cells, {n} incidents → {out} ({fmt}); hot 99/95/90 %: {h99}/{h95}/{h90}, cold: {cold}"},
    "notice": {"kk": "Тек тіркелген оқиғалар: тіркелген қылмыс нақты қылмыстан аз.",
               "ru": "Только зарегистрированные происшествия: учтённая преступность меньше фактической.",
               "en": "Recorded incidents only: recorded crime under-counts real crime."},
    "synthetic": {"kk": "СИНТЕТИКАЛЫҚ ДЕРЕКТЕР: оқиғалар демо үшін ойдан шығарылған, нақты қылмысты сипаттамайды.",
                  "ru": "СИНТЕТИЧЕСКИЕ ДАННЫЕ: происшествия придуманы для демонстрации и не описывают "
                        "реальную преступность.",
                  "en": "SYNTHETIC DATA: the incidents are invented for the demo and describe no real crime."},
    "osm": {"kk": "© OpenStreetMap contributors", "ru": "© OpenStreetMap contributors",
            "en": "© OpenStreetMap contributors"},
    "print": {"kk": "Басып шығару", "ru": "Печать", "en": "Print"},
}


def label(key: str, lang: str = "ru", **fmt) -> str:
    """The label ``key`` in ``lang`` (``kk``, ``ru`` or ``en``); ``ValueError`` for an unknown language."""
    if lang not in LANGS:
        raise ValueError(f"lang={lang!r}: use one of {', '.join(LANGS)}")
    s = LABELS[key][lang]
    return s.format(**fmt) if fmt else s
