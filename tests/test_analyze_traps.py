"""Each trap of domain/negotiations.md (B4) with realistic sentences in en, uk and ru.

Every case is (language, title, summary, claims that must be found, claims that must not).
"""

from __future__ import annotations

import pytest

from tests.analyze_helpers import analyze, triples

Case = tuple[str, str, str, set[tuple[str, str, str]], set[tuple[str, str, str]]]

RU_DEMAND_TERR = ("russia", "demand", "territory")
UA_REJECT_TERR = ("ukraine", "rejection", "territory")
UA_CONCEDE_TERR = ("ukraine", "concession", "territory")

NEGATION: list[Case] = [
    (
        "en",
        "Zelensky says Ukraine will not give up Donbas in peace talks",
        "Ukraine will never cede the Donetsk region, President Volodymyr Zelensky told "
        "reporters after the talks in Geneva.",
        {UA_REJECT_TERR},
        {UA_CONCEDE_TERR},
    ),
    (
        "uk",
        "Зеленський: Україна не піде на територіальні поступки на переговорах",
        "Україна не віддасть Донбас, заявив президент Володимир Зеленський після "
        "переговорів у Женеві.",
        {UA_REJECT_TERR},
        {UA_CONCEDE_TERR},
    ),
    (
        "ru",
        "Зеленский отказался выводить войска из Донбасса ради перемирия",
        "Украина не уйдет из Донбасса, заявил Владимир Зеленский на переговорах в Женеве.",
        {UA_REJECT_TERR},
        {UA_CONCEDE_TERR},
    ),
]

REJECTION_OF_DEMAND: list[Case] = [
    (
        "en",
        "Zelensky rejects Russia's demand to withdraw from Donetsk",
        "Ukrainian President Volodymyr Zelensky rejected Moscow's demand that Kyiv withdraw "
        "its troops from the Donetsk region as a condition for a ceasefire.",
        {UA_REJECT_TERR},
        {
            ("ukraine", "demand", "territory"),
            UA_CONCEDE_TERR,
            ("ukraine", "rejection", "ceasefire"),
        },
    ),
    (
        "uk",
        "Зеленський відкинув вимогу Росії вивести війська з Донеччини",
        "Президент Володимир Зеленський відкинув вимогу Кремля щодо виведення українських "
        "військ з Донецької області в рамках мирних переговорів.",
        {UA_REJECT_TERR},
        {UA_CONCEDE_TERR, ("ukraine", "demand", "territory")},
    ),
    (
        "ru",
        "Киев отверг требование Москвы о выводе войск из Донбасса",
        "Украинская сторона отвергла требование Кремля о выводе ВСУ из Донбасса, "
        "сообщил глава украинской делегации на переговорах Рустем Умеров.",
        {UA_REJECT_TERR},
        {UA_CONCEDE_TERR, ("ukraine", "demand", "territory")},
    ),
]

CONDITIONAL: list[Case] = [
    (
        "en",
        "Zelensky: a free economic zone in Donbas is possible if Russia also withdraws",
        "Ukraine would be ready to create a free economic zone in Donbas if Russian troops "
        "also withdraw, Zelensky said at a briefing on the peace framework.",
        set(),
        {UA_CONCEDE_TERR},
    ),
    (
        "uk",
        "Зеленський допустив вільну економічну зону на Донбасі за умови відведення військ РФ",
        "Якщо Росія відведе свої війська, Україна готова обговорювати вільну економічну зону "
        "на Донбасі, сказав Зеленський під час брифінгу щодо мирного плану.",
        set(),
        {UA_CONCEDE_TERR},
    ),
    (
        "ru",
        "Путин может заморозить фронт, если Киев уйдет из Донбасса",
        "Если Киев выведет войска из Донбасса, Россия могла бы заморозить линию фронта в "
        "Херсонской и Запорожской областях, пишут СМИ со ссылкой на переговоры.",
        set(),
        {("russia", "concession", "territory"), UA_CONCEDE_TERR},
    ),
]

QUESTION: list[Case] = [
    ("en", "Will Ukraine cede Donbas to end the war in peace talks?", "", set(), {UA_CONCEDE_TERR}),
    ("uk", "Чи віддасть Україна Донбас заради мирної угоди?", "", set(), {UA_CONCEDE_TERR}),
    ("ru", "Отдаст ли Украина Донбасс ради мирного соглашения?", "", set(), {UA_CONCEDE_TERR}),
]

RECAP: list[Case] = [
    (
        "en",
        "Russian and Ukrainian delegations meet in Istanbul for a new round of talks",
        "The delegations met at the Ciragan Palace on Monday. Earlier, Putin demanded that "
        "Ukraine withdraw from Donetsk, Luhansk, Kherson and Zaporizhzhia.",
        set(),
        {RU_DEMAND_TERR},
    ),
    (
        "uk",
        "У Стамбулі стартував новий раунд переговорів між Україною та Росією",
        "Делегації зустрілися у палаці Чираган. Нагадаємо, раніше Путін вимагав вивести "
        "українські війська з Донецької та Луганської областей.",
        set(),
        {RU_DEMAND_TERR},
    ),
    (
        "ru",
        "В Стамбуле начался новый раунд переговоров России и Украины",
        "Делегации встретились во дворце Чыраган. Напомним, Путин требовал вывода украинских "
        "войск из Донецкой и Луганской областей.",
        set(),
        {RU_DEMAND_TERR},
    ),
]

HEDGED: list[Case] = [
    (
        "en",
        "Putin demanded all of Donbas at the summit, sources say",
        "According to sources familiar with the talks, Putin demanded that Ukraine cede "
        "the entire Donbas region.",
        {RU_DEMAND_TERR},
        set(),
    ),
    (
        "uk",
        "ЗМІ: Путін вимагав від України віддати весь Донбас",
        "За даними ЗМІ, під час переговорів Путін вимагав від України вивести війська з Донбасу.",
        {RU_DEMAND_TERR},
        set(),
    ),
    (
        "ru",
        "СМИ: Путин потребовал от Украины уйти из Донбасса",
        "По данным СМИ, на переговорах Путин потребовал от Киева вывести войска из Донбасса.",
        {RU_DEMAND_TERR},
        set(),
    ),
]

THIRD_PARTY_PLAN: list[Case] = [
    (
        "en",
        "US peace plan would require Ukraine to cap its army at 600,000",
        "Under the US plan, Ukraine would agree to limit its military to 600,000 troops and "
        "give up its bid to join NATO.",
        {("us", "demand", "military_limits"), ("us", "demand", "nato")},
        {("ukraine", "concession", "military_limits"), ("ukraine", "concession", "nato")},
    ),
    (
        "uk",
        "Американський мирний план передбачає скорочення армії України",
        "План США передбачає, що Україна погодиться на обмеження чисельності ЗСУ до "
        "600 тисяч та відмовиться від вступу до НАТО.",
        {("us", "demand", "military_limits"), ("us", "demand", "nato")},
        {("ukraine", "concession", "military_limits"), ("ukraine", "concession", "nato")},
    ),
    (
        "ru",
        "Американский мирный план предусматривает сокращение армии Украины",
        "Согласно плану США, Украина согласится на ограничение численности ВСУ до "
        "600 тысяч и откажется от вступления в НАТО.",
        {("us", "demand", "military_limits"), ("us", "demand", "nato")},
        {("ukraine", "concession", "military_limits"), ("ukraine", "concession", "nato")},
    ),
]

WILLINGNESS: list[Case] = [
    (
        "en",
        "Ukraine is ready for peace talks, Zelensky says",
        "Ukraine is ready for a meeting with Putin at any time, Zelensky said.",
        set(),
        {UA_CONCEDE_TERR, ("ukraine", "concession", "nato")},
    ),
    (
        "en",
        "Zelensky ready to drop NATO bid in exchange for security guarantees",
        "President Volodymyr Zelensky said Ukraine is ready to drop its bid to join NATO in "
        "exchange for legally binding security guarantees from the West.",
        {("ukraine", "concession", "nato"), ("ukraine", "demand", "security_guarantees")},
        set(),
    ),
    (
        "uk",
        "Зеленський готовий відмовитися від вступу до НАТО в обмін на гарантії безпеки",
        "Україна готова відмовитися від членства в НАТО в обмін на юридично обов'язкові "
        "гарантії безпеки, заявив Зеленський на переговорах у Берліні.",
        {("ukraine", "concession", "nato"), ("ukraine", "demand", "security_guarantees")},
        set(),
    ),
    (
        "ru",
        "Зеленский готов отказаться от вступления в НАТО в обмен на гарантии безопасности",
        "Украина готова отказаться от членства в НАТО в обмен на гарантии безопасности, "
        "заявил Зеленский на переговорах в Берлине.",
        {("ukraine", "concession", "nato"), ("ukraine", "demand", "security_guarantees")},
        set(),
    ),
]

DENIAL: list[Case] = [
    (
        "en",
        "Kremlin denies Putin agreed to a ceasefire at the summit",
        "The Kremlin denied that Putin had agreed to a 30-day ceasefire during the talks with "
        "Trump.",
        set(),
        {("russia", "concession", "ceasefire")},
    ),
    (
        "ru",
        "В Кремле опровергли согласие Путина на перемирие",
        "Песков опроверг сообщения о том, что Путин согласился на 30-дневное перемирие.",
        set(),
        {("russia", "concession", "ceasefire")},
    ),
]

ALL = [
    *(("negation", *c) for c in NEGATION),
    *(("rejection-of-demand", *c) for c in REJECTION_OF_DEMAND),
    *(("conditional", *c) for c in CONDITIONAL),
    *(("question", *c) for c in QUESTION),
    *(("recap", *c) for c in RECAP),
    *(("hedged", *c) for c in HEDGED),
    *(("third-party-plan", *c) for c in THIRD_PARTY_PLAN),
    *(("willingness", *c) for c in WILLINGNESS),
    *(("denial", *c) for c in DENIAL),
]


@pytest.mark.parametrize(
    ("trap", "lang", "title", "summary", "must", "must_not"),
    ALL,
    ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(ALL)],
)
def test_trap(
    trap: str,
    lang: str,
    title: str,
    summary: str,
    must: set[tuple[str, str, str]],
    must_not: set[tuple[str, str, str]],
) -> None:
    a = analyze(title, summary, lang)
    assert a.relevant, f"{trap}: should be relevant: {a.evidence}"
    got = triples(a)
    assert must <= got, f"{trap}: missing {must - got}; got {got}"
    assert not (must_not & got), f"{trap}: wrongly found {must_not & got}"
    for claim in a.claims:
        assert claim.reasons, "every claim says how it was found"
        assert claim.evidence in (title, summary) or claim.evidence in title + " " + summary
