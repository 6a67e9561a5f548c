"""Gradio chat page (a thin shell over ``qa.ask_stream``)."""
