from tests.bot.rollouts.conftest import World, form, COORDINATOR, MAINTAINER

def test_smoke(world: World) -> None:
    world.accept(1, form())
    print(world.ok(COORDINATOR, "rollout 1"))
    print(world.ok(MAINTAINER["aurora"], "ready 1 aurora staging 1.0.0 abc1234"))
