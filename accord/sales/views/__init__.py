"""The deals UI; each module holds one part of it."""

from .board import board, board_column, deal_home, deal_move
from .lists import deal_export, deal_list
from .pipelines import (
    pipeline_edit,
    pipeline_list,
    pipeline_state,
    stage_add,
    stage_delete,
    stage_edit,
    stage_reorder,
)
from .records import (
    deal_contact_add,
    deal_contact_remove,
    deal_create,
    deal_delete,
    deal_detail,
    deal_edit,
    deal_line_items,
    deal_restore,
)

__all__ = [
    "board", "board_column", "deal_contact_add", "deal_contact_remove", "deal_create",
    "deal_delete", "deal_detail", "deal_edit", "deal_export", "deal_home", "deal_line_items",
    "deal_list", "deal_move", "deal_restore", "pipeline_edit", "pipeline_list",
    "pipeline_state", "stage_add", "stage_delete", "stage_edit", "stage_reorder",
]
