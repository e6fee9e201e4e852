"""HTML forms of the main pages."""
from django import forms

from ml_platform.models import ModelEndpoint, PipelineConfiguration


class ProjectForm(forms.ModelForm):
    """Create a project."""

    class Meta:
        model = ModelEndpoint
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the project a name.")
        return name


class MemberForm(forms.Form):
    """Add a member to a project by username."""

    username = forms.CharField(max_length=150)


class PipelineConfigurationForm(forms.ModelForm):
    """Edit how the project's model is trained."""

    feature_columns_text = forms.CharField(
        label="Feature columns", required=False, help_text="Comma-separated column names.",
    )

    class Meta:
        model = PipelineConfiguration
        fields = ["model_type", "training_table", "target_column", "train_fraction", "validation_fraction",
                  "epochs", "learning_rate"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["feature_columns_text"].initial = ", ".join(self.instance.feature_columns or [])

    def clean_feature_columns_text(self) -> list[str]:
        raw = self.cleaned_data.get("feature_columns_text") or ""
        return [column.strip() for column in raw.split(",") if column.strip()]

    def clean(self):
        cleaned = super().clean()
        train = cleaned.get("train_fraction")
        validation = cleaned.get("validation_fraction")
        if train is not None and not 0 < train < 1:
            self.add_error("train_fraction", "Must be between 0 and 1.")
        if validation is not None and not 0 <= validation < 1:
            self.add_error("validation_fraction", "Must be between 0 and 1.")
        if train is not None and validation is not None and train + validation >= 1:
            self.add_error("validation_fraction", "Train and validation together must leave room for a test split.")
        if cleaned.get("learning_rate") is not None and cleaned["learning_rate"] <= 0:
            self.add_error("learning_rate", "Must be positive.")
        return cleaned

    def save(self, commit: bool = True) -> PipelineConfiguration:
        self.instance.feature_columns = self.cleaned_data["feature_columns_text"]
        return super().save(commit=commit)
