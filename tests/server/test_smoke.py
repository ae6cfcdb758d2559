def test_world_builds(world, api):
    grids = api.ok(api.get("/grids"))["grids"]
    assert {g["id"] for g in grids} == {"c1", "g1", "g1a", "g2"}
