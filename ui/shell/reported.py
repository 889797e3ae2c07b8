"""An imported account's own numbers beside the lab's (:mod:`ui.common.reported`), drawn."""

from __future__ import annotations

from typing import Any, Mapping

import streamlit as st

from margin.scenario import ScenarioError, scenario_from_dict
from ui.common.reported import reported_positions, reported_table
from ui.common.text import md


def exchange_beside_lab(raw: Mapping[str, Any]) -> None:
    """The table and the reasons, when the account came from an export that carried the
    exchange's liquidation prices or maintenance margins; nothing otherwise."""
    try:
        rows = reported_positions(scenario_from_dict(dict(raw)))
    except ScenarioError:
        return  # the draft's own message names the field
    if not rows:
        return
    with st.container(border=True, key="builder-reported"):
        st.markdown("**:material/compare_arrows: Your exchange's numbers beside the lab's**")
        st.caption("What your export reported for each position, at the same mark prices, next to what the lab "
                   "computes. The lab uses its venue preset's maintenance tiers, not your account's own bracket.")
        st.dataframe(reported_table(rows), hide_index=True, width="stretch")
        for row in rows:
            if row.why:
                st.caption(f"**{md(row.position)}**: {md(row.why)}")
