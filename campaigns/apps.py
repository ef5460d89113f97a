from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        # Program touches follow new activity as the score rollups claim it.
        from campaigns.tasks import touches_refresh_batch_enqueue
        from engagement.signals import activity_batch_claimed

        activity_batch_claimed.connect(
            touches_refresh_batch_enqueue, dispatch_uid="campaigns.touches_refresh_batch"
        )
