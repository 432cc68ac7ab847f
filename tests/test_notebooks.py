"""dlgrader.notebooks: stripping keeps nbgrader metadata; text outputs ignore timing artefacts."""

import nbformat

from dlgrader.notebooks import strip, text_outputs


def code_cell(outputs, tags=()):
    cell = nbformat.v4.new_code_cell("x", metadata={"nbgrader": {"grade_id": "c"},
                                                    "tags": list(tags)})
    cell.outputs = outputs
    cell.execution_count = 3
    return cell


def stream(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def test_strip_clears_outputs_and_keeps_nbgrader_metadata():
    """Outputs and counts go; metadata.nbgrader stays; a second strip changes nothing."""
    nb = nbformat.v4.new_notebook(cells=[code_cell([stream("hi")])])
    assert strip(nb)
    cell = nb.cells[0]
    assert cell.outputs == [] and cell.execution_count is None
    assert cell.metadata["nbgrader"] == {"grade_id": "c"}
    assert not strip(nb)


def test_text_outputs_join_chunks_and_skip_nondeterministic_and_widgets():
    """Chunked prints compare equal; tagged cells and progress-bar widgets are left out."""
    widget = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc"}, "text/plain": "bar"})
    one = nbformat.v4.new_notebook(cells=[code_cell([stream("a\n"), stream("b\n"), widget]),
                                          code_cell([stream("12 ms")], ["nondeterministic"])])
    two = nbformat.v4.new_notebook(cells=[code_cell([stream("a\nb\n")]),
                                          code_cell([stream("15 ms")], ["nondeterministic"])])
    assert text_outputs(one) == text_outputs(two) == [(0, "a\nb\n")]
