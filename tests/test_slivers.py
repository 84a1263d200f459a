"""An edge contact within the tolerance names nothing and asks for nothing (DESIGN.md: the tolerance keeps
edge-touching slivers from counting), even beside land that counts in the same item: a dry-land parcel
whose edge grazes a paddy field is not told 占水田补水田, and one on a flood-storage area that grazes a
river's management range is not sent for its 防洪评价. Slivers of several values that only count together
still count together, as before values were weighed apart. Exact rectangles in EPSG:4548 (km from the
origin of ``support.rect``)."""

from __future__ import annotations

import pytest
from support import RectLayers, rect, rect_blueprint, review_item

from geo.blueprint import Blueprint, load_blueprint

LAYERS: RectLayers = {
    "county": [((0, 0, 4, 2), {"code": "370811", "name": "任城区"})],
    "land_use": [
        ((0, 0, 1, 1), {"class_code": "0301"}),  # 乔木林地
        ((1, 0, 2, 0.5), {"class_code": "0103"}),  # 旱地
        ((1, 0.5, 2, 1), {"class_code": "0101"}),  # 水田
        ((2, 0, 4, 2), {"class_code": "0601"}),
        ((0, 1, 2, 2), {"class_code": "0601"}),
    ],
    "flood_river": [((2, 0, 3, 1), {"kind": "蓄滞洪区"}), ((3, 0, 4, 1), {"kind": "河湖管理范围"})],
}
MM = 1e-6  # km


@pytest.fixture(scope="module")
def blueprint(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("slivers") / "bp", LAYERS, slope=None))


def test_dry_land_grazing_a_paddy_field_is_not_told_to_replace_paddy(blueprint: Blueprint) -> None:
    """400 × 400 m of 旱地 (tolerance 16 m²) reaching 0.5 mm into the 水田: 0.2 m² of it, not named and no
    占水田补水田, but in the item's figures, which are the land quota's (the ledger books those)."""
    found = review_item(blueprint, rect(1.2, 0.1, 1.6, 0.5 + 0.5 * MM), "cultivated_land", project_type="industrial")
    assert found.status == "warn"
    assert "水田" not in found.message_zh and "paddy" not in found.message_en
    assert found.facts.by_class_m2 == {"0101": pytest.approx(0.2, abs=0.01), "0103": pytest.approx(160_000.0)}
    assert found.facts.paddy_m2 == pytest.approx(0.2, abs=0.01)
    assert not any("水田" in p for p in found.procedures)
    assert {d.attributes["class_code"] for d in found.details} == {"0101", "0103"}
    assert found.overlap_m2 == pytest.approx(160_000.2, abs=0.01)


def test_paddy_taken_for_real_is_still_named(blueprint: Blueprint) -> None:
    found = review_item(blueprint, rect(1.2, 0.3, 1.6, 0.7), "cultivated_land", project_type="industrial")
    assert found.facts.by_class_m2 == {"0101": pytest.approx(80_000.0), "0103": pytest.approx(80_000.0)}
    assert "所占水田须占水田补水田" in found.message_zh
    assert any("水田" in p for p in found.procedures)


def test_slivers_of_two_classes_that_count_only_together_still_count(blueprint: Blueprint) -> None:
    # 500 × 20 m of forest reaching 7 cm into 旱地 and 水田 on either side of y = 0.5: 0.7 m² each, the
    # tolerance 1 m² (the absolute minimum): neither counts alone, together they do, both named
    found = review_item(blueprint, rect(0.5, 0.49, 1.0 + 70 * MM, 0.51), "cultivated_land", project_type="industrial")
    assert found.status == "warn"
    assert set(found.facts.by_class_m2 or {}) == {"0101", "0103"}


def test_a_flood_storage_parcel_grazing_a_river_range_is_not_sent_for_its_review(blueprint: Blueprint) -> None:
    # 400 × 400 m on the 蓄滞洪区 reaching 0.5 mm over x = 3 km into the 河湖管理范围 (0.2 m²), a water project
    parcel = rect(2.6, 0.2, 3.0 + 0.5 * MM, 0.6)
    found = review_item(blueprint, parcel, "flood_control", project_type="water_conservancy")
    assert found.status == "warn"
    assert "蓄滞洪区" in found.message_zh
    assert "河道、湖泊管理范围" not in found.message_zh
    assert {d.attributes["kind"] for d in found.details} == {"蓄滞洪区"}
    assert not any("防洪评价" in p for p in found.procedures)
    assert any("洪水影响评价" in p for p in found.procedures)


def test_a_river_range_taken_for_real_is_still_named_beside_the_flood_storage(blueprint: Blueprint) -> None:
    found = review_item(blueprint, rect(2.8, 0.2, 3.2, 0.6), "flood_control", project_type="water_conservancy")
    assert "河道、湖泊管理范围" in found.message_zh and "蓄滞洪区" in found.message_zh
    assert any("防洪评价" in p for p in found.procedures)


def test_the_opinion_says_no_rounding_difference_of_its_land_classes(blueprint: Blueprint) -> None:
    """A parcel's classes, each rounded to 0.01 m² on its own, may leave 0.01 m² of its area: the report's table names
    it (分类面积舍入差) so that its rows add up, but the opinion's paragraph read 分类面积舍入差0.01平方米（0.0000公顷，
    0.0000亩） as if it were land (officer's read of a drawn parcel); it says the classes alone."""
    from support import parcel_frame

    from geo.opinion import opinion
    from geo.report_model import ROUNDING, report_model
    from geo.review import review

    result = review(parcel_frame(rect(0.2, 0.2, 0.4, 0.4), project_type="industrial"), blueprint)
    parcel = result.parcels[0]
    quota = parcel.land_quota
    figures = {"agricultural_m2": quota.agricultural_m2, "construction_m2": quota.construction_m2}
    bigger = max(figures, key=lambda k: figures[k] or 0.0)
    rounded = quota.model_copy(update={bigger: round((figures[bigger] or 0.0) - 0.01, 2)})
    result = result.model_copy(update={"parcels": [parcel.model_copy(update={"land_quota": rounded})]})
    assert ROUNDING in [r.name for r in report_model(result).parcels[0].land]
    said = opinion(result).parcels[0].quota
    assert "舍入差" not in said and "0.0000亩" not in said, said
