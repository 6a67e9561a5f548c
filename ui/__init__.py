"""The two user interfaces, both over ``qa.service``: the command line (``ui.cli``, ``briefqa``) and the
chat page (``ui.app.build_app`` / ``ui.app.serve`` over ``qa.service.BriefingService``; ``ui.render`` holds the HTML).

Start the page with ``briefqa serve`` (http://127.0.0.1:7860). Importing this package does not import gradio.
"""
